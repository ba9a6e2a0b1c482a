package dev.loupe.model.vlm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.llm.StepDecoder;
import java.util.Arrays;
import java.util.List;

/** The language model's token-embedding lookup for a batch of rows, done in one call over their concatenated ids. */
public final class TokenEmbeddings {
    private final StepDecoder language;

    public TokenEmbeddings(StepDecoder language) {
        this.language = language;
    }

    /** One {@code [ids.length][hidden]} array per row. */
    public float[][][] lookup(List<int[]> rows) throws AnnotationException {
        int total = 0;
        for (int[] row : rows) {
            total += row.length;
        }
        long[] ids = new long[total];
        int at = 0;
        for (int[] row : rows) {
            for (int id : row) {
                ids[at++] = id;
            }
        }
        int hidden = language.inputWidth();
        float[] flat;
        try {
            flat = language.embed(ids, 1, total);
        } catch (OrtException | IllegalArgumentException e) {
            throw failed(e);
        }
        float[][][] out = new float[rows.size()][][];
        int pos = 0;
        for (int k = 0; k < rows.size(); k++) {
            int n = rows.get(k).length;
            out[k] = new float[n][];
            for (int j = 0; j < n; j++, pos++) {
                out[k][j] = Arrays.copyOfRange(flat, pos * hidden, (pos + 1) * hidden);
            }
        }
        return out;
    }

    /** The error a failed lookup reports. */
    public static AnnotationException failed(Exception cause) {
        return new AnnotationException(ErrorCode.INFERENCE_FAILED, "token embedding failed: " + cause.getMessage(),
                cause);
    }
}
