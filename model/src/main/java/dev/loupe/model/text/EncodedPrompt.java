package dev.loupe.model.text;

import java.util.Arrays;

/**
 * A prompt tokenized for InstructBLIP: the language model's ids (beginning with BOS, without the image
 * placeholders), the Q-Former's BERT ids ([CLS] ... [SEP]) and how many image-token placeholders the
 * processor puts in front of the text ids. Arrays must not be modified.
 *
 * @param textIds         the LLM ids of the prompt, as the tokenizer gives them (BOS first)
 * @param qformerIds      the Q-Former ids, [CLS] ... [SEP]
 * @param numQueryTokens  K, the number of query outputs spliced into the LLM input
 * @param imageTokenId    the id of the placeholder token whose embeddings the query outputs replace
 */
public record EncodedPrompt(int[] textIds, int[] qformerIds, int numQueryTokens, int imageTokenId) {

    /** The LLM input as transformers' InstructBlipProcessor builds it: K image tokens, then {@link #textIds()}. */
    public int[] inputIds() {
        int[] ids = new int[numQueryTokens + textIds.length];
        Arrays.fill(ids, 0, numQueryTokens, imageTokenId);
        System.arraycopy(textIds, 0, ids, numQueryTokens, textIds.length);
        return ids;
    }

    /** Length of {@link #inputIds()}. */
    public int inputLength() {
        return numQueryTokens + textIds.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncodedPrompt p && Arrays.equals(textIds, p.textIds) && Arrays.equals(qformerIds, p.qformerIds)
                && numQueryTokens == p.numQueryTokens && imageTokenId == p.imageTokenId;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(textIds) + Arrays.hashCode(qformerIds)) + 31 * numQueryTokens + imageTokenId;
    }

    @Override
    public String toString() {
        return "EncodedPrompt[textIds=" + Arrays.toString(textIds) + ", qformerIds=" + Arrays.toString(qformerIds)
                + ", numQueryTokens=" + numQueryTokens + ", imageTokenId=" + imageTokenId + "]";
    }
}
