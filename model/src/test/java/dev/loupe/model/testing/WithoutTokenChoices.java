package dev.loupe.model.testing;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.loupe.model.llm.TokenChoiceHead;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a decoder graph as packages written before {@link TokenChoiceHead} have it: the tail's input and outputs
 * removed, and every node no remaining output needs. Runners must detect it and take the full-logits path.
 */
public final class WithoutTokenChoices {
    private WithoutTokenChoices() {}

    /** Copies the (inline-weight) model {@code from} to {@code to} without the token-choice tail. */
    public static Path write(Path from, Path to) throws IOException {
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(from));
        GraphProto graph = model.getGraph();
        Set<String> needed = new HashSet<>();
        List<ValueInfoProto> outputs = new ArrayList<>();
        for (ValueInfoProto o : graph.getOutputList()) {
            if (!o.getName().equals(TokenChoiceHead.CHOICE_IDS)
                    && !o.getName().equals(TokenChoiceHead.CHOICE_LOG_PROBS)) {
                outputs.add(o);
                needed.add(o.getName());
            }
        }
        List<NodeProto> nodes = graph.getNodeList();
        boolean[] keep = new boolean[nodes.size()];
        for (int i = nodes.size() - 1; i >= 0; i--) { // nodes are in topological order
            NodeProto n = nodes.get(i);
            if (n.getOutputList().stream().anyMatch(needed::contains)) {
                keep[i] = true;
                needed.addAll(n.getInputList());
            }
        }
        GraphProto.Builder g = graph.toBuilder().clearNode().clearOutput().addAllOutput(outputs).clearInput();
        for (int i = 0; i < nodes.size(); i++) {
            if (keep[i]) {
                g.addNode(nodes.get(i));
            }
        }
        for (ValueInfoProto in : graph.getInputList()) {
            if (!in.getName().equals(TokenChoiceHead.CHOICE_COUNT)) {
                g.addInput(in);
            }
        }
        if (g.getInputList().size() == graph.getInputCount() || outputs.size() == graph.getOutputCount()) {
            throw new IllegalArgumentException(from + " has no token-choice tail");
        }
        Files.write(to, model.toBuilder().setGraph(g).build().toByteArray());
        return to;
    }
}
