package dev.loupe.model.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

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
        return bounded(declared, preferred);
    }

    /**
     * The rows per run declared in the ONNX file {@code graph}, for runners that open it through another API (the
     * device-bound runner's JavaCPP sessions): the model's top-level fields are scanned, the graph skipped unread.
     */
    public static int of(Path graph, int preferred) throws IOException {
        String declared = null;
        try (InputStream in = Files.newInputStream(graph)) {
            CodedInputStream model = CodedInputStream.newInstance(in);
            model.setSizeLimit(Integer.MAX_VALUE);
            for (int tag = model.readTag(); tag != 0; tag = model.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) != METADATA_PROPS) {
                    model.skipField(tag);
                    continue;
                }
                int limit = model.pushLimit(model.readRawVarint32());
                String key = null;
                String value = null;
                for (int t = model.readTag(); t != 0; t = model.readTag()) {
                    switch (WireFormat.getTagFieldNumber(t)) {
                        case 1 -> key = model.readStringRequireUtf8();
                        case 2 -> value = model.readStringRequireUtf8();
                        default -> model.skipField(t);
                    }
                }
                model.popLimit(limit);
                if (KEY.equals(key)) {
                    declared = value;
                }
            }
        }
        return bounded(declared, preferred);
    }

    /** ModelProto's field number of {@code metadata_props}. */
    private static final int METADATA_PROPS = 14;

    private static int bounded(String declared, int preferred) {
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
