package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.BatchOrders;
import dev.loupe.model.testing.ConvertedFixture;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole InstructBLIP runtime — converted package, image preprocessing from the PNG bytes, tokenization,
 * encoder and greedy generation — against the transformers reference, and batch invariance over real rows.
 */
class InstructBlipAnnotatorTest {
    private static final GenerationConfig TWELVE = GenerationConfig.greedy(12);

    @TempDir
    static Path tmp;

    static ConvertedFixture model;
    static Path packageDir;
    static BatchAnnotator annotator;
    static ImagePreprocessor preprocessor;
    static JsonNode reference;

    @BeforeAll
    static void convertFixture(TestInfo testInfo) throws Exception {
        model = ConvertedFixture.convert(HfFixture.VICUNA, tmp.resolve("pkg"), testInfo);
        packageDir = model.packageDir;
        annotator = model.openAnnotator();
        preprocessor = model.preprocessor;
        reference = model.reference;
    }

    @AfterAll
    static void close() {
        annotator.close();
    }

    private static ImageTensor image(String file) throws Exception {
        return preprocessor.preprocess(Files.readAllBytes(HfFixture.VICUNA.dir().resolve("../images").resolve(file)));
    }

    private static AnnotationInput input(String id, String imageFile, String prompt) throws Exception {
        return new AnnotationInput(id, image(imageFile), prompt, Task.VQA, List.of(), TWELVE);
    }

    /** The package holds the decoder graph the test class asks for, and its manifest says which. */
    @Test
    void packageRecordsItsDecoderGraph(TestInfo testInfo) throws Exception {
        DecoderGraphKind kind = ConvertedFixture.decoderFor(testInfo);
        assertThat(Manifest.read(packageDir).dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText())
                .isEqualTo(kind.label());
        assertThat(Files.readString(packageDir.resolve(InstructBlipPackage.DECODER_FILE),
                java.nio.charset.StandardCharsets.ISO_8859_1).contains("GroupQueryAttention"))
                .isEqualTo(kind == DecoderGraphKind.FUSED);
    }

    @Test
    void singleImageMatchesTransformersGreedy() throws Exception {
        JsonNode single = reference.path("single");
        List<AnnotationOutcome> out = annotator.annotate(List.of(
                input("s", single.path("image").asText(), single.path("prompt").asText())));

        assertThat(out.get(0).isSuccess()).as("%s", out.get(0)).isTrue();
        Annotation a = out.get(0).annotation();
        JsonNode greedy = single.path("greedy");
        assertThat(a.tokenIds()).containsExactly(ints(greedy.path("new_token_ids")));
        double sum = 0;
        for (JsonNode step : greedy.path("steps")) {
            sum += step.path("logprob").asDouble();
        }
        assertThat(a.score()).isCloseTo(sum / greedy.path("steps").size(), within(1e-4));
        assertThat(a.text()).isEqualTo(greedy.path("text").asText().strip());
    }

    @Test
    void everyRowOfEveryBatchEqualsItsAloneResult() throws Exception {
        JsonNode batch = reference.path("batch");
        JsonNode expected = batch.path("greedy_qformer_right_padded").path("rows");
        List<AnnotationInput> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(input("r" + i, batch.path("images").get(i).asText(), batch.path("prompts").get(i).asText()));
        }
        double[] aloneScores = new double[3];
        for (int i = 0; i < 3; i++) {
            Annotation alone = annotator.annotate(List.of(rows.get(i))).get(0).annotation();
            assertThat(alone.tokenIds()).as("row %d alone", i).containsExactly(ints(expected.get(i).path("new_token_ids")));
            aloneScores[i] = alone.score();
        }
        int[][] orders = {{0, 1}, {1, 0}, {2, 0}, {1, 2}, {0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {2, 2, 1}};
        for (int[] order : orders) {
            List<AnnotationInput> b = new ArrayList<>();
            for (int i : order) {
                b.add(rows.get(i));
            }
            List<AnnotationOutcome> out = annotator.annotate(b);
            for (int k = 0; k < order.length; k++) {
                int row = order[k];
                Annotation a = out.get(k).annotation();
                assertThat(a.tokenIds()).as("row %d at %d of %s", row, k, java.util.Arrays.toString(order))
                        .containsExactly(ints(expected.get(row).path("new_token_ids")));
                assertThat(a.score()).isCloseTo(aloneScores[row], within(1e-5));
            }
        }
    }

    @Test
    void aBadRowFailsAloneAndItsBatchMatesAreServed() throws Exception {
        JsonNode single = reference.path("single");
        AnnotationInput good = input("good", single.path("image").asText(), single.path("prompt").asText());
        AnnotationInput tooLong = input("long", single.path("image").asText(), "word ".repeat(400));
        AnnotationInput rank = new AnnotationInput("rank", good.pixels(), "Question: what color? Answer:", Task.RANK,
                List.of(), TWELVE);
        AnnotationInput beams = new AnnotationInput("beams", good.pixels(), single.path("prompt").asText(), Task.VQA,
                List.of(), TWELVE.withBeams(3, 3));

        List<AnnotationOutcome> out = annotator.annotate(List.of(tooLong, good, rank, beams));

        assertThat(out.get(0).errorCode()).isEqualTo(ErrorCode.PROMPT_TOO_LONG);
        assertThat(out.get(1).annotation().tokenIds())
                .containsExactly(ints(single.path("greedy").path("new_token_ids")));
        assertThat(out.get(2).errorCode()).as("rank without candidates").isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(out.get(3).annotation().tokenIds())
                .containsExactly(ints(single.path("beam").path("beams").get(0).path("new_token_ids")));
    }

    @Test
    void candidateScoresMatchTransformersAndDoNotDependOnTheBatch() throws Exception {
        JsonNode rank = reference.path("rank");
        AnnotationInput ranked = BatchOrders.rankInput(rank, image(rank.path("image").asText()), TWELVE);
        List<String> candidates = ranked.candidates();
        JsonNode single = reference.path("single");
        AnnotationInput generated = input("gen", single.path("image").asText(), single.path("prompt").asText());

        for (List<AnnotationInput> batch : List.of(List.of(ranked), List.of(generated, ranked, ranked))) {
            List<AnnotationOutcome> out = annotator.annotate(batch);
            for (int k = 0; k < batch.size(); k++) {
                if (batch.get(k) != ranked) {
                    assertThat(out.get(k).annotation().tokenIds())
                            .containsExactly(ints(single.path("greedy").path("new_token_ids")));
                    continue;
                }
                Annotation a = out.get(k).annotation();
                assertThat(a.candidates()).extracting(Annotation.CandidateScore::text).containsExactlyElementsOf(candidates);
                for (int c = 0; c < candidates.size(); c++) {
                    assertThat(a.candidates().get(c).score()).as(candidates.get(c))
                            .isCloseTo(rank.path("candidates").get(c).path("score_sum").asDouble(), within(1e-3));
                }
                assertThat(a.text()).isEqualTo(rank.path("best").asText());
                assertThat(a.tokenIds()).containsExactly(ints(rank.path("candidates").get(
                        rank.path("ranking_by_score_sum").get(0).asInt()).path("cand_ids")));
            }
        }
    }

    @Test
    void packageRecordsItsSourceAndRefusesToBeOverwritten() throws Exception {
        Manifest m = Manifest.read(packageDir);
        assertThat(m.family()).isEqualTo(InstructBlipPackage.FAMILY);
        assertThat(m.source().sha256()).isEqualTo(reference.path("model_sha256").asText());
        assertThat(m.specialTokens().eos()).containsExactly(2);
        assertThat(m.specialTokens().image()).isEqualTo(385);
        assertThat(annotator.modelVersion()).isEqualTo(m.source().sha256());
        AnnotatorFactory factory = Models.open(packageDir, RuntimeOptions.cpu(1));
        assertThat(factory.taskDefaults().forTask(Task.VQA).maxNewTokens()).as("short answers").isEqualTo(10);
        assertThat(factory.taskDefaults().forTask(Task.CAPTION).maxNewTokens()).isEqualTo(30);
        assertThatThrownBy(() -> Models.convert(HfFixture.VICUNA.checkpoint(), packageDir))
                .hasMessageContaining("already holds a model package");
    }

    @Test
    void aCheckpointDirectoryIsConvertedOnceIntoTheCache() throws Exception {
        RuntimeOptions options = new RuntimeOptions(RuntimeOptions.Device.CPU, 1, tmp.resolve("cache").toString());
        Path first = Models.resolvePackage(HfFixture.VICUNA.checkpoint(), options);
        long written = Files.getLastModifiedTime(first.resolve(Manifest.FILE_NAME)).toMillis();
        Path second = Models.resolvePackage(HfFixture.VICUNA.checkpoint(), options);
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second.resolve(Manifest.FILE_NAME)).toMillis()).isEqualTo(written);
        assertThat(first).startsWith(tmp.resolve("cache"));
    }
}
