package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llava.LlavaConfig;
import dev.loupe.model.llava.LlavaImageEncoder;
import dev.loupe.model.llava.LlavaImageGraph;
import dev.loupe.model.llava.LlavaPackage;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.onnx.RowsPerRun;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.PackageFidelity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * int8 and int4 packages of the InstructBLIP-Vicuna fixture: weight MatMuls become DynamicQuantizeMatMul in the
 * vision tower (run one image per run), row-quantized MatMulIntegerToFloat in the Q-Former and int8's decoder, and
 * 4-bit MatMulNBits in int4's decoder; the graphs shrink, the packages open through
 * {@link Models#open} and generate, a row's result does not depend on its batch, and they follow the fp32 package
 * within the fidelity bounds measured here (random tiny weights: see docs/models.md for the figures).
 */
class Int8PackageTest {
    @TempDir
    static Path tmp;

    static Path fp32;
    static Path int8;
    static Path int4;
    static List<ImageTensor> images;

    @BeforeAll
    static void convert() throws Exception {
        fp32 = tmp.resolve("fp32");
        int8 = tmp.resolve("int8");
        int4 = tmp.resolve("int4");
        Models.convert(HfFixture.VICUNA.checkpoint(), fp32);
        Models.convert(HfFixture.VICUNA.checkpoint(), int8, Precision.INT8);
        Models.convert(HfFixture.VICUNA.checkpoint(), int4, Precision.INT4);
        AnnotatorFactory factory = Models.open(fp32, RuntimeOptions.cpu(1));
        images = new ArrayList<>();
        try (Stream<Path> files = Files.list(HfFixture.root().resolve("images"))) {
            for (Path f : files.sorted().toList()) {
                images.add(factory.createPreprocessor().preprocess(Files.readAllBytes(f)));
            }
        }
    }

    @Test
    void manifestRecordsTheDtypeAndTheGraphsUseQuantizedOps() throws Exception {
        Manifest m = Manifest.read(int8);
        assertThat(m.dtype()).isEqualTo("int8");
        assertThat(Manifest.read(int4).dtype()).isEqualTo("int4");
        ModelProto decoder = parse(m.graph(int8, InstructBlipPackage.GRAPH_DECODER));
        ModelProto vision = parse(m.graph(int8, InstructBlipPackage.GRAPH_VISION));
        ModelProto qformer = parse(m.graph(int8, InstructBlipPackage.GRAPH_QFORMER));
        assertThat(opTypes(decoder)).contains("MatMulIntegerToFloat").doesNotContain("MatMulNBits");
        assertThat(opTypes(parse(Manifest.read(int4).graph(int4, InstructBlipPackage.GRAPH_DECODER))))
                .contains("MatMulNBits").doesNotContain("MatMulIntegerToFloat");
        // the vision tower: DynamicQuantizeMatMul (no quantization ops of the graph's own), one image per run
        for (Path pkg : List.of(int8, int4)) {
            ModelProto v = parse(Manifest.read(pkg).graph(pkg, InstructBlipPackage.GRAPH_VISION));
            assertThat(opTypes(v)).as(pkg.getFileName().toString()).contains("DynamicQuantizeMatMul")
                    .doesNotContain("MatMulIntegerToFloat", "MatMulNBits", "QuantizeLinear", "ReduceMax");
            assertThat(metadata(v)).containsEntry(RowsPerRun.KEY, "1");
        }
        // the Q-Former and the decoder: row-quantized, ReduceMax/ReduceMin then one QuantizeLinear pass
        for (ModelProto g : List.of(qformer, decoder)) {
            assertThat(opTypes(g)).contains("MatMulIntegerToFloat", "QuantizeLinear", "ReduceMax", "ReduceMin")
                    .doesNotContain("DynamicQuantizeMatMul", "Abs", "Round");
            assertThat(metadata(g)).doesNotContainKey(RowsPerRun.KEY);
        }
        assertThat(metadata(parse(Manifest.read(fp32).graph(fp32, InstructBlipPackage.GRAPH_VISION)))).isEmpty();
        for (ModelProto g : List.of(decoder, vision, qformer)) {
            // no weight MatMul is left in float: every MatMul's second input is computed, not an initializer
            List<String> floatInits = g.getGraph().getInitializerList().stream()
                    .filter(t -> t.getDataType() == TensorProto.DataType.FLOAT.getNumber() && t.getDimsCount() == 2)
                    .map(TensorProto::getName).toList();
            assertThat(g.getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("MatMul"))
                    .allSatisfy(n -> assertThat(floatInits).doesNotContain(n.getInput(1)));
        }
        long a = onnxBytes(fp32);
        long b = onnxBytes(int8);
        long c = onnxBytes(int4);
        System.out.printf("fixture package graphs: fp32 %d bytes, int8 %d bytes, int4 %d bytes%n", a, b, c);
        assertThat((double) b).isLessThan(0.5 * a);
        assertThat(c).isLessThan(b);
    }

    @Test
    void quantizedPackagesGenerateAndRowsDoNotDependOnTheirBatch() throws Exception {
        for (Path pkg : List.of(int8, int4)) {
            AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1));
            try (BatchAnnotator annotator = factory.createAnnotator()) {
                List<AnnotationInput> batch = new ArrayList<>();
                for (int i = 0; i < images.size(); i++) {
                    batch.add(new AnnotationInput("r" + i, images.get(i), Prompts.CAPTION_TEMPLATE, Task.CAPTION,
                            List.of(), GenerationConfig.greedy(8).withMinNewTokens(8)));
                }
                List<Annotation> together = annotator.annotate(batch).stream().map(o -> o.annotation()).toList();
                for (int i = 0; i < batch.size(); i++) {
                    Annotation alone = annotator.annotate(List.of(batch.get(i))).get(0).annotation();
                    assertThat(together.get(i).tokenIds()).as("%s row %d", pkg.getFileName(), i).hasSize(8)
                            .containsExactly(alone.tokenIds());
                    assertThat(together.get(i).score()).isCloseTo(alone.score(),
                            org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void int8ImageFeaturesOfARowAreTheRowAloneBitForBit() throws Exception {
        // more images than one vision run of a float package takes, of very different contrast: a range shared by
        // the images of one run would show in every feature
        try (ImageEncoder encoder = ImageEncoder.open(int8, InstructBlipConfig.load(int8), 1)) {
            int n = 2 * ImageEncoder.VISION_RUN_IMAGES + 1;
            List<ImageTensor> batch = new ArrayList<>();
            long[][] ids = new long[n][];
            for (int i = 0; i < n; i++) {
                batch.add(scaled(images.get(i % images.size()), 1 + 3 * (i % 3)));
                ids[i] = new long[] {101, 3 + i, 102}; // within the fixture Q-Former vocabulary (201)
            }
            ImageEncoder.Encoded together = encoder.encodeWithIntermediates(batch, ids);
            for (int i = 0; i < n; i++) {
                assertRowIsAlone(together, i, encoder.encodeWithIntermediates(List.of(batch.get(i)),
                        new long[][] {ids[i]}));
            }
        }
    }

    private static Path llavaInt8;

    /** The LLaVA fixture converted to int8 (once, on first use). */
    private static synchronized Path llavaInt8() throws Exception {
        if (llavaInt8 == null) {
            Path pkg = tmp.resolve("int8-llava-image-rows");
            Models.convert(HfFixture.named("llava").checkpoint(), pkg, Precision.INT8);
            llavaInt8 = pkg;
        }
        return llavaInt8;
    }

    /** The fixture images preprocessed for {@code pkg}, {@code copies} of each, every one scaled differently. */
    private static List<ImageTensor> llavaImages(Path pkg, int copies) throws Exception {
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1));
        List<ImageTensor> batch = new ArrayList<>();
        try (Stream<Path> files = Files.list(HfFixture.root().resolve("images"))) {
            for (Path f : files.sorted().toList()) {
                ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(f));
                for (int c = 0; c < copies; c++) {
                    batch.add(scaled(image, 1 + 3 * batch.size()));
                }
            }
        }
        return batch;
    }

    /** Row {@code i} of a batch's encoding is, at every stage, bit for bit the row encoded alone. */
    private static void assertRowIsAlone(ImageEncoder.Encoded together, int i, ImageEncoder.Encoded alone) {
        assertThat(together.imageEmbeds()[i]).as("image embeds of row %d", i).containsExactly(alone.imageEmbeds()[0]);
        assertThat(together.queryOutput()[i]).as("Q-Former output of row %d", i)
                .containsExactly(alone.queryOutput()[0]);
        assertThat(together.languageInputs()[i]).as("language inputs of row %d", i)
                .containsExactly(alone.languageInputs()[0]);
    }

    @Test
    void int8ImageFeaturesOfARowAreTheRowAloneOnTheDeviceBoundImageSideToo() throws Exception {
        // the device-bound runner's image side opens the graphs through JavaCPP: it must split runs as declared too
        try (BoundImageSide side = BoundImageSide.open(int8.resolve(ImageEncoder.VISION_FILE),
                int8.resolve(ImageEncoder.QFORMER_FILE), InstructBlipConfig.load(int8), RuntimeOptions.cpu(1))) {
            int n = 2 * ImageEncoder.VISION_RUN_IMAGES + 1;
            List<ImageTensor> batch = new ArrayList<>();
            long[][] ids = new long[n][];
            for (int i = 0; i < n; i++) {
                batch.add(scaled(images.get(i % images.size()), 1 + 3 * (i % 3)));
                ids[i] = new long[] {101, 3 + i, 102};
            }
            float[][][] together = side.encode(batch, ids);
            for (int i = 0; i < n; i++) {
                float[][][] alone = side.encode(List.of(batch.get(i)), new long[][] {ids[i]});
                assertThat(together[i]).as("language inputs of row %d", i).isDeepEqualTo(alone[0]);
            }
        }
    }

    @Test
    void int8LlavaImageFeaturesOfARowAreTheRowAloneBitForBit() throws Exception {
        Path pkg = llavaInt8();
        Manifest m = Manifest.read(pkg);
        List<ImageTensor> batch = llavaImages(pkg, 1);
        try (LlavaImageEncoder encoder = LlavaImageEncoder.open(m.graph(pkg, LlavaPackage.GRAPH_IMAGE),
                LlavaConfig.load(pkg), RuntimeOptions.cpu(1))) {
            float[][] together = encoder.run(batch, LlavaImageGraph.IMAGE_FEATURES).get(LlavaImageGraph.IMAGE_FEATURES);
            for (int i = 0; i < batch.size(); i++) {
                float[][] alone = encoder.run(List.of(batch.get(i)), LlavaImageGraph.IMAGE_FEATURES)
                        .get(LlavaImageGraph.IMAGE_FEATURES);
                assertThat(together[i]).as("image features of row %d", i).containsExactly(alone[0]);
            }
        }
    }

    private static ImageTensor scaled(ImageTensor image, float factor) {
        float[] chw = image.chw().clone();
        for (int i = 0; i < chw.length; i++) {
            chw[i] *= factor;
        }
        return new ImageTensor(chw, image.channels(), image.height(), image.width());
    }

    @Test
    void int8FollowsFloat32OnTheFixture() throws Exception {
        PackageFidelity.Report r = PackageFidelity.compare(fp32, int8, images, Prompts.CAPTION_TEMPLATE, 12,
                RuntimeOptions.cpu(1));
        PackageFidelity.Report r4 = PackageFidelity.compare(fp32, int4, images, Prompts.CAPTION_TEMPLATE, 12,
                RuntimeOptions.cpu(1));
        System.out.println("fixture fidelity int8 vs fp32: " + r);
        System.out.println("fixture fidelity int4 vs fp32: " + r4);
        assertThat(r.tokens()).isGreaterThan(0);
        assertThat(r.visionCosineMin()).isGreaterThan(0.99);
        assertThat(r.prefixCosineMean()).isGreaterThan(0.99);
        assertThat(r.meanAbsLogProbDiff()).isLessThan(0.05);
        // tiny random weights give near-tied logits, so one flipped greedy choice is within int8's error here
        assertThat(r.identicalCaptions()).isGreaterThanOrEqualTo(images.size() - 1);
        assertThat(r.leadingAgreement()).isBetween((images.size() - 1.0) / images.size(), 1.0);
        // 4-bit weights are coarser: they must still be clearly closer to fp32 than unrelated weights would be
        assertThat(r4.visionCosineMean()).isGreaterThan(0.95);
        assertThat(r4.meanAbsLogProbDiff()).isGreaterThan(r.meanAbsLogProbDiff());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"instructblip-flant5", "blip2-opt", "blip2-flant5", "llava"})
    void everyFamilyConvertsToInt8AndGenerates(String fixture) throws Exception {
        Path pkg = tmp.resolve("int8-" + fixture);
        Models.convert(HfFixture.named(fixture).checkpoint(), pkg, Precision.INT8);
        Manifest m = Manifest.read(pkg);
        assertThat(m.dtype()).isEqualTo("int8");
        List<String> ops = new ArrayList<>();
        for (String graph : m.graphs().values()) {
            ops.addAll(opTypes(parse(pkg.resolve(graph))));
        }
        assertThat(ops).contains("MatMulIntegerToFloat", "DynamicQuantizeMatMul").doesNotContain("MatMulNBits");
        // only image towers (every input an image batch) range over a whole run, and they say so
        for (String graph : m.graphs().values()) {
            ModelProto g = parse(pkg.resolve(graph));
            boolean imageTower = g.getGraph().getInputList().stream()
                    .allMatch(i -> i.getType().getTensorType().getShape().getDimCount() == 4);
            assertThat(opTypes(g).contains("DynamicQuantizeMatMul")).as(graph).isEqualTo(imageTower);
            assertThat(metadata(g).get(RowsPerRun.KEY)).as(graph).isEqualTo(imageTower ? "1" : null);
        }
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1));
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(
                    HfFixture.image("img_64x64.png")));
            var outcome = annotator.annotate(List.of(new AnnotationInput("a", image, "Describe the image.",
                    Task.CAPTION, List.of(), GenerationConfig.greedy(4).withMinNewTokens(4)))).get(0);
            assertThat(outcome.isSuccess()).as(outcome.errorMessage()).isTrue();
            assertThat(outcome.annotation().tokenIds()).hasSize(4);
        }
    }

    private static List<String> opTypes(ModelProto m) {
        return m.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList();
    }

    private static java.util.Map<String, String> metadata(ModelProto m) {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        m.getMetadataPropsList().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static ModelProto parse(Path file) throws Exception {
        try (var in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }

    private static long onnxBytes(Path pkg) throws Exception {
        try (Stream<Path> s = Files.list(pkg)) {
            return s.filter(p -> p.getFileName().toString().contains(".onnx")).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /**
     * The image towers' one-image runs go side by side on several threads ({@link ConcurrentRuns}): each row's
     * features must still be bit for bit those of the row encoded alone, one run after another.
     */
    @Test
    void int8ImagesRunSideBySideGiveEachRowItsFeaturesAloneBitForBit() throws Exception {
        int n = 9;
        List<ImageTensor> batch = new ArrayList<>();
        long[][] ids = new long[n][];
        for (int i = 0; i < n; i++) {
            batch.add(scaled(images.get(i % images.size()), 1 + 2 * (i % 4)));
            ids[i] = new long[] {101, 5 + i, 102};
        }
        ImageEncoder.Encoded together;
        try (ImageEncoder concurrent = openWithRuns("3")) {
            together = concurrent.encodeWithIntermediates(batch, ids);
            // again while another caller encodes on the same encoder: the helpers are shared, the results are not
            ImageEncoder.Encoded[] other = new ImageEncoder.Encoded[1];
            Thread t = new Thread(() -> {
                try {
                    other[0] = concurrent.encodeWithIntermediates(batch.subList(0, 5), java.util.Arrays.copyOf(ids, 5));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            ImageEncoder.Encoded again = concurrent.encodeWithIntermediates(batch, ids);
            t.join();
            for (int i = 0; i < n; i++) {
                assertThat(again.imageEmbeds()[i]).as("image embeds of row %d, second call", i)
                        .containsExactly(together.imageEmbeds()[i]);
            }
            for (int i = 0; i < 5; i++) {
                assertThat(other[0].languageInputs()[i]).as("language inputs of row %d, other caller", i)
                        .containsExactly(together.languageInputs()[i]);
            }
        }
        try (ImageEncoder serial = openWithRuns("1")) {
            for (int i = 0; i < n; i++) {
                assertRowIsAlone(together, i, serial.encodeWithIntermediates(List.of(batch.get(i)),
                        new long[][] {ids[i]}));
            }
        }
    }

    @Test
    void int8LlavaImagesRunSideBySideGiveEachRowItsFeaturesAloneBitForBit() throws Exception {
        Path pkg = llavaInt8();
        Manifest m = Manifest.read(pkg);
        List<ImageTensor> batch = llavaImages(pkg, 2);
        Path graph = m.graph(pkg, LlavaPackage.GRAPH_IMAGE);
        float[][] together;
        try (LlavaImageEncoder concurrent = withRuns("3", () -> LlavaImageEncoder.open(graph, LlavaConfig.load(pkg),
                RuntimeOptions.cpu(1)))) {
            together = concurrent.run(batch, LlavaImageGraph.IMAGE_FEATURES).get(LlavaImageGraph.IMAGE_FEATURES);
        }
        try (LlavaImageEncoder serial = withRuns("1", () -> LlavaImageEncoder.open(graph, LlavaConfig.load(pkg),
                RuntimeOptions.cpu(1)))) {
            for (int i = 0; i < batch.size(); i++) {
                float[][] alone = serial.run(List.of(batch.get(i)), LlavaImageGraph.IMAGE_FEATURES)
                        .get(LlavaImageGraph.IMAGE_FEATURES);
                assertThat(together[i]).as("image features of row %d", i).containsExactly(alone[0]);
            }
        }
    }

    /** The int8 encoder with at most {@code runs} vision runs at once ({@link ConcurrentRuns}). */
    private static ImageEncoder openWithRuns(String runs) throws Exception {
        return withRuns(runs, () -> ImageEncoder.open(int8, InstructBlipConfig.load(int8), 1));
    }

    private interface Opener<T> {
        T open() throws Exception;
    }

    /** What {@code opener} opens with {@link ConcurrentRuns#PROPERTY} set to {@code runs}. */
    private static <T> T withRuns(String runs, Opener<T> opener) throws Exception {
        String before = System.getProperty(ConcurrentRuns.PROPERTY);
        System.setProperty(ConcurrentRuns.PROPERTY, runs);
        try {
            return opener.open();
        } finally {
            if (before == null) {
                System.clearProperty(ConcurrentRuns.PROPERTY);
            } else {
                System.setProperty(ConcurrentRuns.PROPERTY, before);
            }
        }
    }
}
