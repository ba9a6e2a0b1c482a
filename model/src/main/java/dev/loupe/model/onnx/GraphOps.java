package dev.loupe.model.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which operators an ONNX file's main graph uses, read without loading it: runners choose how to run a package's
 * graph by what it computes (an int8 decoder's MatMuls on row-quantized activations, say) where its manifest has no
 * field for it. Only the nodes' operator types are read; initializers and every other field are skipped.
 */
public final class GraphOps {
    /** ModelProto.graph, GraphProto.node and NodeProto.op_type field numbers. */
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_NODE = 1;
    private static final int NODE_OP_TYPE = 4;

    private GraphOps() {}

    /** Whether a node of {@code graph}'s main graph has operator type {@code opType}. */
    public static boolean uses(Path graph, String opType) throws IOException {
        try (InputStream in = Files.newInputStream(graph)) {
            CodedInputStream model = CodedInputStream.newInstance(in);
            model.setSizeLimit(Integer.MAX_VALUE);
            for (int tag = model.readTag(); tag != 0; tag = model.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) != MODEL_GRAPH) {
                    model.skipField(tag);
                    continue;
                }
                int graphLimit = model.pushLimit(model.readRawVarint32());
                for (int g = model.readTag(); g != 0; g = model.readTag()) {
                    if (WireFormat.getTagFieldNumber(g) != GRAPH_NODE) {
                        model.skipField(g);
                        continue;
                    }
                    int nodeLimit = model.pushLimit(model.readRawVarint32());
                    for (int n = model.readTag(); n != 0; n = model.readTag()) {
                        if (WireFormat.getTagFieldNumber(n) == NODE_OP_TYPE) {
                            if (opType.equals(model.readStringRequireUtf8())) {
                                return true;
                            }
                        } else {
                            model.skipField(n);
                        }
                    }
                    model.popLimit(nodeLimit);
                }
                model.popLimit(graphLimit);
            }
            return false;
        }
    }
}
