package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An fp16-compute package of the InstructBLIP-Vicuna fixture (float16 weights, activations and KV cache, for GPUs):
 * every graph loads in ONNX Runtime, whose graph resolution checks each node against its operator schema and infers
 * every tensor's type and shape (Python's onnx checker is not used); the inferred types show the arithmetic in float16
 * with float32 kept for the norm statistics and the log-softmax, and the graph boundary as documented. ONNX Runtime's
 * CPU provider runs the float16 ops it has no float16 kernel for in float32 (casts it inserts at load), so the package
 * also runs here, through the same runtime as every package, within float16 tolerance of the fp32 package. Generation
 * runs through both decoder runners: the Java API's ({@code ort-java}, float16 cache in byte buffers) and the
 * device-bound one ({@code device-bound}, the GPU's runner, float16 cache buffers in the provider's memory).
 */
class Fp16ComputePackageTest {
    /** How ONNX Runtime names the casts it inserts around a node its CPU provider runs in float32. */
    private static final String CPU_CAST = "InsertedPrecisionFreeCast";

    @TempDir
    static Path tmp;

    static Path fp32;
    static Path fp16;

    @BeforeAll
    static void convert() throws Exception {
        fp32 = tmp.resolve("fp32");
        fp16 = tmp.resolve("fp16-compute");
        Models.convert(HfFixture.VICUNA.checkpoint(), fp32);
        Models.convert(HfFixture.VICUNA.checkpoint(), fp16, Precision.FP16_COMPUTE);
    }

    @Test
    void everyGraphPassesOnnxRuntimesSchemaTypeAndShapeChecks() throws Exception {
        Manifest m = Manifest.read(fp16);
        assertThat(m.dtype()).isEqualTo("fp16-compute");
        for (String graph : m.graphs().keySet()) {
            GraphProto resolved = resolved(m.graph(fp16, graph), graph).getGraph();
            System.out.println("fp16-compute " + graph + ": ops the CPU provider runs in float32 (casts it inserted): "
                    + cpuFallbacks(resolved));
        }
    }

    /**
     * ONNX Runtime's resolution (above) holds every op to its type constraints (a MatMul's, a norm's, an attention's
     * float inputs share one type), so an op reading a float16 weight computes in float16; and the float32 ops read
     * tensors cast to float32.
     */
    @Test
    void arithmeticIsFloat16WithFloat32NormStatisticsAndLogSoftmax() throws Exception {
        Manifest m = Manifest.read(fp16);
        Set<String> half = Set.of("MatMul", "Conv", "GroupQueryAttention", "MultiHeadAttention",
                "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "LayerNormalization");
        Set<String> single = Set.of("Pow", "LogSoftmax", "TopK");
        Map<String, Integer> counted = new java.util.TreeMap<>();
        for (String graph : m.graphs().keySet()) {
            GraphProto stored = parse(m.graph(fp16, graph)).getGraph();
            // every weight is a float16 initializer; float32 ones are scalars of the float32 islands
            assertThat(stored.getInitializerList()).filteredOn(t -> t.getDataType() == DataType.FLOAT.getNumber())
                    .allSatisfy(t -> assertThat(t.getDimsList().stream().reduce(1L, (a, b) -> a * b))
                            .as("%s: float32 initializer %s", graph, t.getName()).isLessThanOrEqualTo(1L));
            Set<String> halfWeights = new java.util.HashSet<>();
            stored.getInitializerList().stream().filter(t -> t.getDataType() == DataType.FLOAT16.getNumber())
                    .forEach(t -> halfWeights.add(t.getName()));
            Map<String, NodeProto> producers = new HashMap<>();
            stored.getNodeList().forEach(n -> n.getOutputList().forEach(o -> producers.put(o, n)));
            Set<String> floatInputs = new java.util.HashSet<>();
            stored.getInputList().stream().filter(v -> v.getType().getTensorType().getElemType()
                    == DataType.FLOAT.getNumber()).forEach(v -> floatInputs.add(v.getName()));
            for (NodeProto n : stored.getNodeList()) {
                if (half.contains(n.getOpType())) {
                    assertThat(n.getInputList()).as("%s: %s %s reads a float16 weight", graph, n.getOpType(),
                            n.getName()).anyMatch(halfWeights::contains);
                    counted.merge(n.getOpType(), 1, Integer::sum);
                } else if (single.contains(n.getOpType())) {
                    String in = n.getInput(0);
                    NodeProto producer = producers.get(in);
                    assertThat(floatInputs.contains(in) || producer != null && producer.getOpType().equals("Cast")
                            && producer.getAttribute(0).getI() == DataType.FLOAT.getNumber())
                            .as("%s: %s %s reads float32", graph, n.getOpType(), n.getName()).isTrue();
                    counted.merge(n.getOpType(), 1, Integer::sum);
                }
            }
        }
        System.out.println("fp16-compute fixture ops checked: " + counted);
        assertThat(counted).containsKeys("MatMul", "Conv", "GroupQueryAttention", "MultiHeadAttention",
                "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "LayerNormalization", "Pow",
                "LogSoftmax", "TopK");
    }

    @Test
    void theHostSeesFloat32AndIdsExceptTheFloat16KvCache() throws Exception {
        Manifest m = Manifest.read(fp16);
        Map<String, DataType> boundary = new HashMap<>();
        for (String graph : m.graphs().keySet()) {
            GraphProto g = parse(m.graph(fp16, graph)).getGraph();
            for (ValueInfoProto v : g.getInputList()) {
                boundary.put(graph + " in " + v.getName(), DataType.forNumber(v.getType().getTensorType().getElemType()));
            }
            for (ValueInfoProto v : g.getOutputList()) {
                boundary.put(graph + " out " + v.getName(), DataType.forNumber(v.getType().getTensorType().getElemType()));
            }
        }
        System.out.println("fp16-compute graph boundary: " + new java.util.TreeMap<>(boundary));
        boundary.forEach((name, type) -> {
            boolean kv = name.contains("past_key_values.") || name.contains("present.");
            if (kv) {
                assertThat(type).as(name).isEqualTo(DataType.FLOAT16);
            } else {
                assertThat(type).as(name).isIn(DataType.FLOAT, DataType.INT64, DataType.INT32);
            }
        });
        assertThat(boundary).containsEntry("vision in pixel_values", DataType.FLOAT)
                .containsEntry("decoder in inputs_embeds", DataType.FLOAT)
                .containsEntry("decoder out logits", DataType.FLOAT)
                .containsEntry("decoder out choice_log_probs", DataType.FLOAT)
                .containsEntry("decoder in past_key_values.0.key", DataType.FLOAT16)
                .containsEntry("decoder out present.0.value", DataType.FLOAT16);
    }

    @Test
    void firstStepLogitsStayWithinFloat16ToleranceOfFloat32() throws Exception {
        float[] full = Fp16PackageTest.firstStepLogits(fp32);
        float[] half = Fp16PackageTest.firstStepLogits(fp16);
        float d = HfFixture.maxAbsDiff(half, full);
        System.out.printf("first-step logits, fp16-compute vs fp32: max abs diff %.3g (logit range %.3g)%n", d,
                Fp16PackageTest.range(full));
        assertThat(d).isLessThan(5e-2f);
        assertThat(Fp16PackageTest.argmax(half)).isEqualTo(Fp16PackageTest.argmax(full));
    }

    @ParameterizedTest(name = "runner: {0}")
    @EnumSource(value = RuntimeOptions.Runner.class, names = {"ORT_JAVA", "DEVICE_BOUND"})
    void greedyIdsMatchTheReference(RuntimeOptions.Runner runner) throws Exception {
        JsonNode single = HfFixture.VICUNA.reference().path("single");
        int[] expected = ints(single.path("greedy").path("new_token_ids"));
        AnnotatorFactory factory = Models.open(fp16, RuntimeOptions.cpu(1).withRunner(runner));
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(
                    HfFixture.root().resolve("images").resolve(single.path("image").asText())));
            Annotation a = annotator.annotate(List.of(new AnnotationInput("s", image, single.path("prompt").asText(),
                    Task.VQA, List.of(), GenerationConfig.greedy(12)))).get(0).annotation();
            System.out.printf("fp16-compute greedy ids (%s) %s, score %.5f%n", runner.spec(),
                    Arrays.toString(a.tokenIds()), a.score());
            assertThat(a.tokenIds()).containsExactly(expected);
        }
    }

    /** Beam search reorders the float16 cache rows (SharedKvCache.select): the beams are transformers'. */
    @ParameterizedTest(name = "runner: {0}")
    @EnumSource(value = RuntimeOptions.Runner.class, names = {"ORT_JAVA", "DEVICE_BOUND"})
    void beamSearchFollowsTheReference(RuntimeOptions.Runner runner) throws Exception {
        JsonNode single = HfFixture.VICUNA.reference().path("single");
        AnnotatorFactory factory = Models.open(fp16, RuntimeOptions.cpu(1).withRunner(runner));
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(
                    HfFixture.root().resolve("images").resolve(single.path("image").asText())));
            Annotation a = annotator.annotate(List.of(new AnnotationInput("b", image, single.path("prompt").asText(),
                    Task.VQA, List.of(), GenerationConfig.greedy(12).withBeams(3, 3)))).get(0).annotation();
            JsonNode beams = single.path("beam").path("beams");
            assertThat(a.sequences()).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(a.sequences().get(i).tokenIds()).as("beam %d", i)
                        .containsExactly(ints(beams.get(i).path("new_token_ids")));
                assertThat(a.sequences().get(i).score()).as("beam %d score", i)
                        .isCloseTo(beams.get(i).path("sequence_score").asDouble(), within(2e-2));
            }
        }
    }

    /** A row's ids do not depend on its batch, with static batches and with continuous batching (2 active rows). */
    @ParameterizedTest(name = "runner: {0}")
    @EnumSource(value = RuntimeOptions.Runner.class, names = {"ORT_JAVA", "DEVICE_BOUND"})
    void rowsDoNotDependOnTheirBatch(RuntimeOptions.Runner runner) throws Exception {
        JsonNode single = HfFixture.VICUNA.reference().path("single");
        AnnotatorFactory factory = Models.open(fp16, RuntimeOptions.cpu(1).withRunner(runner));
        List<AnnotationInput> inputs = new java.util.ArrayList<>();
        try (var files = Files.list(HfFixture.root().resolve("images"))) {
            for (Path f : files.sorted().toList()) {
                inputs.add(new AnnotationInput(f.getFileName().toString(), factory.createPreprocessor()
                        .preprocess(Files.readAllBytes(f)), single.path("prompt").asText(), Task.VQA, List.of(),
                        GenerationConfig.greedy(8)));
            }
        }
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            List<dev.loupe.model.api.AnnotationOutcome> batched = annotator.annotate(inputs);
            List<dev.loupe.model.api.AnnotationOutcome> continuous = annotator.annotateContinuously(inputs, 2);
            for (int i = 0; i < inputs.size(); i++) {
                int[] alone = annotator.annotate(List.of(inputs.get(i))).get(0).annotation().tokenIds();
                assertThat(batched.get(i).annotation().tokenIds()).as("batched row %d", i).containsExactly(alone);
                assertThat(continuous.get(i).annotation().tokenIds()).as("continuous row %d", i)
                        .containsExactly(alone);
            }
        }
    }

    /**
     * The device-bound runner over the float16 cache: a generation past the cache's first capacity grows it on the
     * device (regather + pad of float16 buffers) mid-way, rows of different lengths side by side, and beams reorder
     * its slots there; ids and scores are those of the Java-API runner on the same package.
     */
    @Test
    void deviceBoundFloat16CacheGrowsAndReordersAsTheJavaApiRunner() throws Exception {
        JsonNode single = HfFixture.VICUNA.reference().path("single");
        Path images = HfFixture.root().resolve("images");
        List<String> prompts = List.of(single.path("prompt").asText(), "a");
        List<String> files = List.of(single.path("image").asText(), "img_40x30.png");
        List<GenerationConfig> configs = List.of(GenerationConfig.greedy(80).withMinNewTokens(80),
                GenerationConfig.greedy(10).withBeams(3, 3));
        List<List<Annotation>> byRunner = new java.util.ArrayList<>();
        for (RuntimeOptions.Runner runner : List.of(RuntimeOptions.Runner.ORT_JAVA, RuntimeOptions.Runner.DEVICE_BOUND)) {
            AnnotatorFactory factory = Models.open(fp16, RuntimeOptions.cpu(1).withRunner(runner));
            List<Annotation> out = new java.util.ArrayList<>();
            try (BatchAnnotator annotator = factory.createAnnotator()) {
                for (GenerationConfig config : configs) {
                    List<AnnotationInput> inputs = new java.util.ArrayList<>();
                    for (int r = 0; r < prompts.size(); r++) {
                        inputs.add(new AnnotationInput("r" + r, factory.createPreprocessor().preprocess(
                                Files.readAllBytes(images.resolve(files.get(r)))), prompts.get(r), Task.VQA, List.of(),
                                config));
                    }
                    annotator.annotate(inputs).forEach(o -> out.add(o.annotation()));
                }
            }
            byRunner.add(out);
        }
        List<Annotation> java = byRunner.get(0);
        List<Annotation> bound = byRunner.get(1);
        for (int i = 0; i < java.size(); i++) {
            assertThat(bound.get(i).tokenIds()).as("annotation %d", i).containsExactly(java.get(i).tokenIds());
            assertThat(bound.get(i).score()).as("annotation %d score", i).isCloseTo(java.get(i).score(),
                    within(1e-4));
            assertThat(bound.get(i).sequences()).hasSameSizeAs(java.get(i).sequences());
            for (int b = 0; b < java.get(i).sequences().size(); b++) {
                assertThat(bound.get(i).sequences().get(b).tokenIds()).as("annotation %d beam %d", i, b)
                        .containsExactly(java.get(i).sequences().get(b).tokenIds());
                assertThat(bound.get(i).sequences().get(b).score()).as("annotation %d beam %d score", i, b)
                        .isCloseTo(java.get(i).sequences().get(b).score(), within(1e-4));
            }
        }
        assertThat(java.get(0).tokenIds()).hasSize(80);
        assertThat(java.get(1).tokenIds()).hasSize(80);
    }

    @Test
    void llavaConvertsAndItsGreedyIdsMatchTheReference() throws Exception {
        Path llava = tmp.resolve("llava-fp16-compute");
        assertThat(Models.convert(HfFixture.LLAVA.checkpoint(), llava, Precision.FP16_COMPUTE).dtype())
                .isEqualTo("fp16-compute");
        JsonNode single = HfFixture.LLAVA.reference().path("single");
        AnnotatorFactory factory = Models.open(llava, RuntimeOptions.cpu(1));
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(
                    HfFixture.root().resolve("images").resolve(single.path("image").asText())));
            Annotation a = annotator.annotate(List.of(new AnnotationInput("s", image, single.path("prompt").asText(),
                    Task.CAPTION, List.of(), GenerationConfig.greedy(12)))).get(0).annotation();
            assertThat(a.tokenIds()).containsExactly(ints(single.path("greedy").path("new_token_ids")));
        }
    }

    @Test
    void languageModelsWithoutTheFusedLlamaDecoderAreRefused() {
        assertThatThrownBy(() -> Models.convert(HfFixture.BLIP2_OPT.checkpoint(), tmp.resolve("opt"),
                Precision.FP16_COMPUTE)).hasMessageContaining("fp16-compute packages need a LLaMA language model");
        assertThatThrownBy(() -> Models.convert(HfFixture.VICUNA.checkpoint(), tmp.resolve("plain"),
                Precision.FP16_COMPUTE, dev.loupe.model.llm.DecoderGraphKind.PLAIN))
                .hasMessageContaining("with the plain decoder graph");
    }

    /**
     * The graph as ONNX Runtime loads it without optimisation: resolution checks every node against its operator
     * schema and infers every tensor's type and shape, failing on any mismatch; the CPU provider then casts around
     * the nodes it has no float16 kernel for. A load failure says whether a kernel is missing or the graph is wrong.
     */
    private static ModelProto resolved(Path model, String graph) throws Exception {
        Path out = tmp.resolve(graph + ".resolved.onnx");
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            so.setOptimizedModelFilePath(out.toString());
            OrtSessions.environment().createSession(model.toString(), so).close();
        } catch (OrtException e) {
            if (e.getCode() == OrtException.OrtErrorCode.ORT_NOT_IMPLEMENTED
                    || String.valueOf(e.getMessage()).contains("Could not find an implementation")) {
                fail(graph + ": the graph resolved, but ONNX Runtime's CPU provider has no kernel for a node: "
                        + e.getMessage());
            }
            fail(graph + ": type or shape inference failed: " + e.getMessage());
        }
        return parse(out);
    }

    /** The op types whose float16 inputs ONNX Runtime's CPU provider casts up to float32 (no float16 kernel). */
    private static Set<String> cpuFallbacks(GraphProto resolved) {
        Set<String> inserted = new java.util.HashSet<>();
        resolved.getNodeList().stream().filter(n -> n.getName().startsWith(CPU_CAST)
                        && n.getAttribute(0).getI() == DataType.FLOAT.getNumber())
                .forEach(n -> inserted.addAll(n.getOutputList()));
        Set<String> ops = new java.util.TreeSet<>();
        for (NodeProto n : resolved.getNodeList()) {
            if (!n.getName().startsWith(CPU_CAST) && n.getInputList().stream()
                    .anyMatch(inserted::contains)) {
                ops.add(n.getOpType());
            }
        }
        return ops;
    }

    private static ModelProto parse(Path file) throws Exception {
        try (var in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }
}
