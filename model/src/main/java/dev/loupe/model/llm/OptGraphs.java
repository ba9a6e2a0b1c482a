package dev.loupe.model.llm;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.Map;

/**
 * Builds the OPT language model (BLIP-2's) as the same two ONNX graphs as {@link LlamaGraphs}, with the same
 * inputs and outputs, so {@link LanguageModelRunner}, the generators and {@link CandidateScorer} run it unchanged.
 * Mirrors transformers' {@code modeling_opt.py} (eager attention, float32): token embeddings plus learned position
 * embeddings read at {@code position_ids + 2} (the caller's position ids come from the cumulative attention mask, as
 * transformers computes them, so left padding does not move a row's positions); pre- or post-norm blocks with
 * biased q/k/v/out projections and a ReLU feed-forward block; final layer norm; LM head tied to the embeddings
 * unless the checkpoint has its own.
 */
public final class OptGraphs {
    private OptGraphs() {}

    /** The token embedding lookup; {@code prefix} is where the OPT weights live, e.g. {@code "language_model."}. */
    public static GraphBuilder tokenEmbedding(SafetensorsCheckpoint ckpt, String prefix, OptConfig config) {
        GraphBuilder g = new GraphBuilder("opt_token_embedding");
        String ids = g.input(LlamaGraphs.INPUT_IDS, DataType.INT64, "batch", "sequence");
        String table = g.weight("embed_tokens", embedWeight(ckpt, prefix, config));
        g.output(g.gather(table, ids, 0), LlamaGraphs.INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence",
                config.hiddenSize());
        return g;
    }

    /** The decoder stack with KV cache and LM head; inputs and outputs as {@link LlamaGraphs#decoder}. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, OptConfig config,
                                       LlamaGraphs.LogitsMode mode) {
        GraphBuilder g = new GraphBuilder("opt_decoder");
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int headDim = config.headDim();
        String d = prefix + "model.decoder.";
        String x = g.input(LlamaGraphs.INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", hidden);
        String mask = g.input(LlamaGraphs.ATTENTION_MASK, DataType.INT64, "batch", "total_sequence");
        String positions = g.input(LlamaGraphs.POSITION_IDS, DataType.INT64, "batch", "sequence");
        String[] pastK = new String[config.numHiddenLayers()];
        String[] pastV = new String[config.numHiddenLayers()];
        for (int i = 0; i < pastK.length; i++) {
            pastK[i] = g.input(LlamaGraphs.pastKey(i), DataType.FLOAT, "batch", heads, "past_sequence", headDim);
            pastV[i] = g.input(LlamaGraphs.pastValue(i), DataType.FLOAT, "batch", heads, "past_sequence", headDim);
        }

        String table = g.weight("embed_positions", LlamaGraphs.checked(ckpt, d + "embed_positions.weight",
                config.maxPositionEmbeddings() + OptConfig.POSITION_OFFSET, hidden));
        x = g.add(x, g.gather(table, g.add(positions, g.scalarLong(OptConfig.POSITION_OFFSET)), 0));

        String allowed = LlamaGraphs.allowedKeys(g, x, mask);
        String masked = g.scalar(LlamaGraphs.MASKED_SCORE);
        String scale = g.scalar((float) (1.0 / Math.sqrt(headDim)));
        boolean bias = config.enableBias();
        boolean preNorm = config.doLayerNormBefore();

        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = d + "layers." + i + ".";
            String n = "layers." + i + ".";
            String h = preNorm ? layerNorm(g, ckpt, x, p + "self_attn_layer_norm", n + "attn_norm") : x;
            // transformers scales the query projection before the product
            String q = LlamaGraphs.heads(g, g.mul(LlamaGraphs.projection(g, ckpt, h, p + "self_attn.q_proj",
                    n + "q", bias), scale), heads, headDim);
            String k = LlamaGraphs.heads(g, LlamaGraphs.projection(g, ckpt, h, p + "self_attn.k_proj", n + "k", bias),
                    heads, headDim);
            String v = LlamaGraphs.heads(g, LlamaGraphs.projection(g, ckpt, h, p + "self_attn.v_proj", n + "v", bias),
                    heads, headDim);
            String keys = g.opAs(LlamaGraphs.presentKey(i), "Concat", Map.of("axis", 2L), pastK[i], k);
            String values = g.opAs(LlamaGraphs.presentValue(i), "Concat", Map.of("axis", 2L), pastV[i], v);
            g.output(keys, keys, DataType.FLOAT, "batch", heads, "total_sequence", headDim);
            g.output(values, values, DataType.FLOAT, "batch", heads, "total_sequence", headDim);

            String scores = g.op("Where", allowed, g.matMul(q, g.transpose(keys, 0, 1, 3, 2)), masked);
            String context = g.reshape(g.transpose(g.matMul(g.softmax(scores, -1), values), 0, 2, 1, 3), 0, 0,
                    (long) heads * headDim);
            x = g.add(x, LlamaGraphs.projection(g, ckpt, context, p + "self_attn.out_proj", n + "o", bias));
            if (!preNorm) {
                x = layerNorm(g, ckpt, x, p + "self_attn_layer_norm", n + "attn_norm");
            }

            h = preNorm ? layerNorm(g, ckpt, x, p + "final_layer_norm", n + "ffn_norm") : x;
            h = g.op("Relu", LlamaGraphs.projection(g, ckpt, h, p + "fc1", n + "fc1", bias));
            x = g.add(x, LlamaGraphs.projection(g, ckpt, h, p + "fc2", n + "fc2", bias));
            if (!preNorm) {
                x = layerNorm(g, ckpt, x, p + "final_layer_norm", n + "ffn_norm");
            }
        }
        x = LlamaGraphs.keptPositions(g, x, mode);
        if (config.hasFinalLayerNorm()) {
            x = layerNorm(g, ckpt, x, d + "final_layer_norm", "final_norm");
        }
        Weight head = config.tieWordEmbeddings()
                ? embedWeight(ckpt, prefix, config)
                : LlamaGraphs.checked(ckpt, prefix + "lm_head.weight", config.vocabSize(), hidden);
        LlamaGraphs.outputLogits(g, x, head, mode, config.vocabSize());
        return g;
    }

    private static Weight embedWeight(SafetensorsCheckpoint ckpt, String prefix, OptConfig config) {
        return LlamaGraphs.checked(ckpt, prefix + "model.decoder.embed_tokens.weight", config.vocabSize(),
                config.hiddenSize());
    }

    private static String layerNorm(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String name,
                                    String graphName) {
        return g.layerNorm(x, g.weight(graphName + ".weight", Weight.of(ckpt, name + ".weight")),
                g.weight(graphName + ".bias", Weight.of(ckpt, name + ".bias")), (float) OptConfig.LAYER_NORM_EPS);
    }
}
