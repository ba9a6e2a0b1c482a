package dev.loupe.model.t5;

import dev.loupe.model.llm.VisualPrefix;
import java.util.List;

/**
 * Requests' encoder inputs as one batch, right-padded to the longest under their mask (relative positions make
 * padding on the right harmless, so a row's result does not depend on its batch).
 *
 * @param embeds  flat [rows, length, d_model]
 * @param mask    flat [rows, length], 1 = token
 * @param lengths each row's own length
 */
record EncoderBatch(float[] embeds, long[] mask, int length, int[] lengths) {

    static EncoderBatch rightPadded(List<VisualPrefix> prefixes, int d) {
        int batch = prefixes.size();
        int[] lengths = new int[batch];
        int longest = 0;
        for (int r = 0; r < batch; r++) {
            lengths[r] = prefixes.get(r).rows().length;
            longest = Math.max(longest, lengths[r]);
        }
        float[] embeds = new float[batch * longest * d];
        long[] mask = new long[batch * longest];
        for (int r = 0; r < batch; r++) {
            float[][] rows = prefixes.get(r).rows();
            for (int j = 0; j < rows.length; j++) {
                System.arraycopy(rows[j], 0, embeds, (r * longest + j) * d, d);
                mask[r * longest + j] = 1;
            }
        }
        return new EncoderBatch(embeds, mask, longest, lengths);
    }
}
