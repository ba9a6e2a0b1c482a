package dev.loupe.model.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;

/**
 * How many batch rows a graph may take per run and still give each row its own result. A quantized graph whose
 * activation ranges span the whole run ({@code DynamicQuantizeMatMul}, chosen for image towers) says so in its model
 * metadata ({@value #KEY} = 1); the runners split their batches accordingly, so batch invariance is a property the
 * package declares rather than one its runners must know about. Graphs without the entry take any number of rows.
 */
public final class RowsPerRun {
    /** The model metadata key (ONNX {@code metadata_props}) holding the largest batch-invariant rows per run. */
    public static final String KEY = "loupe.rows_per_run";

    private RowsPerRun() {}

    /** The rows per run for {@code session}: {@code preferred}, or less where the graph's metadata says so. */
    public static int of(OrtSession session, int preferred) throws IOException {
        String declared;
        try {
            declared = session.getMetadata().getCustomMetadata().get(KEY);
        } catch (OrtException e) {
            throw new IOException("cannot read the graph's metadata: " + e.getMessage(), e);
        }
        if (declared == null) {
            return preferred;
        }
        int rows;
        try {
            rows = Integer.parseInt(declared.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("graph metadata " + KEY + " must be a positive integer, got '"
                    + declared + "'", e);
        }
        if (rows < 1) {
            throw new IllegalArgumentException("graph metadata " + KEY + " must be a positive integer, got " + rows);
        }
        return Math.min(preferred, rows);
    }
}
