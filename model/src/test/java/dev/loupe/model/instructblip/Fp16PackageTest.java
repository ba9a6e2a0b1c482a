package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
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
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.llm.PrefixStepDecoder;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An fp16 package of the fixture (weights stored as float16, computed in float32 on CPU) against the fp32 package
 * and transformers: first-step logits stay close, greedy ids are the same, and the graphs are half the size.
 */
class Fp16PackageTest {
    @TempDir
    static Path tmp;

    static Path fp32;
    static Path fp16;
    static JsonNode reference;

    @BeforeAll
    static void convert() throws Exception {
        fp32 = tmp.resolve("fp32");
        fp16 = tmp.resolve("fp16");
        Models.convert(HfFixture.VICUNA.checkpoint(), fp32);
        Models.convert(HfFixture.VICUNA.checkpoint(), fp16, Precision.FP16);
        reference = HfFixture.VICUNA.reference();
    }

    @Test
    void manifestRecordsTheDtypeAndGraphsHalve() throws Exception {
        assertThat(Manifest.read(fp32).dtype()).isEqualTo("fp32");
        assertThat(Manifest.read(fp16).dtype()).isEqualTo("fp16");
        long a = onnxBytes(fp32);
        long b = onnxBytes(fp16);
        System.out.printf("fixture package graphs: fp32 %d bytes, fp16 %d bytes%n", a, b);
        assertThat((double) b).isLessThan(0.6 * a);
    }

    @Test
    void firstStepLogitsStayCloseToFloat32() throws Exception {
        float[] expected = HfFixture.VICUNA.tensor("single.first_step_logits");
        float[] full = firstStepLogits(fp32);
        float[] half = firstStepLogits(fp16);
        float d32 = HfFixture.maxAbsDiff(full, expected);
        float d16 = HfFixture.maxAbsDiff(half, full);
        System.out.printf("first-step logits max abs diff: fp32 vs transformers %.3g, fp16 vs fp32 %.3g "
                + "(logit range %.3g)%n", d32, d16, range(full));
        assertThat(d32).isLessThan(1e-4f);
        assertThat(d16).isLessThan(2e-2f);
        assertThat(argmax(half)).isEqualTo(argmax(full));
    }

    @Test
    void greedyIdsMatchTheReferenceOnCpu() throws Exception {
        JsonNode single = reference.path("single");
        int[] expected = ints(single.path("greedy").path("new_token_ids"));
        AnnotatorFactory factory = Models.open(fp16, RuntimeOptions.defaults().withThreads(1));
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(
                    HfFixture.VICUNA.dir().resolve("../images").resolve(single.path("image").asText())));
            Annotation a = annotator.annotate(List.of(new AnnotationInput("s", image, single.path("prompt").asText(),
                    Task.VQA, List.of(), GenerationConfig.greedy(12)))).get(0).annotation();
            System.out.printf("fp16 greedy ids %s, score %.5f%n", Arrays.toString(a.tokenIds()), a.score());
            assertThat(a.tokenIds()).containsExactly(expected);
        }
    }

    @Test
    void onnxRuntimeFoldsTheCastsIntoFloat32WeightsAtLoad() throws Exception {
        Path decoder = Manifest.read(fp16).graph(fp16, InstructBlipPackage.GRAPH_DECODER);
        ModelProto stored = parse(decoder);
        long casts = stored.getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("Cast") && n.getInput(0).endsWith(OnnxModelWriter.FP16_SUFFIX)).count();
        assertThat(casts).isEqualTo(stored.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.FLOAT16.getNumber()).count()).isPositive();

        Path optimized = tmp.resolve("decoder16.optimized.onnx");
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            // constant folding is a basic-level optimisation; the runtime's ALL_OPT includes it (EXTENDED here only
            // because ORT warns when saving ALL_OPT models, which hold hardware-specific layouts)
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            so.setIntraOpNumThreads(1);
            so.setOptimizedModelFilePath(optimized.toString());
            OrtSessions.environment().createSession(decoder.toString(), so).close();
        }
        ModelProto loaded = parse(optimized);
        assertThat(loaded.getGraph().getNodeList()).noneMatch(n -> n.getOpType().equals("Cast")
                && n.getInput(0).endsWith(OnnxModelWriter.FP16_SUFFIX));
        assertThat(loaded.getGraph().getInitializerList()).noneMatch(t ->
                t.getDataType() == TensorProto.DataType.FLOAT16.getNumber());
    }

    private static ModelProto parse(Path file) throws Exception {
        try (var in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }

    /**
     * Runs the package's graphs on the fixture's single example and returns the first generated step's logits (also
     * for {@link Fp16ComputePackageTest}).
     */
    static float[] firstStepLogits(Path pkg) throws Exception {
        JsonNode inputs = HfFixture.VICUNA.reference().path("single").path("inputs");
        InstructBlipConfig config = InstructBlipConfig.load(pkg);
        LlamaConfig llama = LlamaConfig.fromJson(config.textConfig());
        Manifest m = Manifest.read(pkg);
        RuntimeOptions cpu = RuntimeOptions.cpu(1);
        long[][] qformerIds = HfFixture.idRows(inputs.path("qformer_input_ids").path("values"),
                inputs.path("qformer_attention_mask").path("values"));
        long[] ids = HfFixture.idRows(inputs.path("input_ids").path("values"), null)[0];
        int k = config.numQueryTokens();
        long[] text = Arrays.copyOfRange(ids, k, ids.length);
        try (ImageEncoder encoder = ImageEncoder.open(m.graph(pkg, InstructBlipPackage.GRAPH_VISION),
                m.graph(pkg, InstructBlipPackage.GRAPH_QFORMER), config, cpu);
             LanguageModelRunner lm = LanguageModelRunner.open(m.graph(pkg, InstructBlipPackage.GRAPH_EMBED),
                     m.graph(pkg, InstructBlipPackage.GRAPH_DECODER), llama, cpu)) {
            List<ImageTensor> images = HfFixture.VICUNA.images("single.pixel_values", config.vision().imageSize());
            float[][] query = encoder.encode(images, qformerIds)[0];
            float[] textEmbeds = lm.embed(text, 1, text.length);
            int hidden = llama.hiddenSize();
            float[][] prefix = new float[k + text.length][];
            for (int t = 0; t < k; t++) {
                prefix[t] = query[t];
            }
            for (int t = 0; t < text.length; t++) {
                prefix[k + t] = java.util.Arrays.copyOfRange(textEmbeds, t * hidden, (t + 1) * hidden);
            }
            // through the step decoder, which runs either decoder graph (lm is closed above, not by it)
            try (DecodingState state = new PrefixStepDecoder(lm, 0).start(List.<float[][]>of(prefix))) {
                return state.lastLogits(0);
            }
        }
    }

    private static long onnxBytes(Path pkg) throws Exception {
        try (Stream<Path> s = Files.list(pkg)) {
            return s.filter(p -> p.getFileName().toString().contains(".onnx")).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static float range(float[] v) {
        float lo = Float.MAX_VALUE;
        float hi = -Float.MAX_VALUE;
        for (float x : v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        return hi - lo;
    }

}
