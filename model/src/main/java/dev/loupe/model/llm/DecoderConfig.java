package dev.loupe.model.llm;

/**
 * What the decoder-agnostic runtime ({@link LanguageModelRunner}, {@link KvCache}, the generators and
 * {@link CandidateScorer}) needs to know of a decoder-only language model: the widths of its embeddings, logits and
 * KV cache. {@link LlamaConfig} and {@link OptConfig} implement it; their graph builders share one decoder
 * interface (see {@link LlamaGraphs}).
 */
public interface DecoderConfig {
    int vocabSize();

    int hiddenSize();

    int numHiddenLayers();

    int numAttentionHeads();

    int numKeyValueHeads();

    int headDim();

    int maxPositionEmbeddings();
}
