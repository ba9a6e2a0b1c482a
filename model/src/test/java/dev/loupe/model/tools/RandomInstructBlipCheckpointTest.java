package dev.loupe.model.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated benchmark checkpoint is a valid InstructBLIP-Vicuna checkpoint end to end. */
class RandomInstructBlipCheckpointTest {
    /** Tiny on purpose: the generator, not the size, is under test. */
    static final RandomInstructBlipCheckpoint.Dims TINY = new RandomInstructBlipCheckpoint.Dims(
            32, 8, 48, 2, 4, 96, 32, 2, 4, 64, 150, 4, 64, 2, 4, 2, 128, 300, 256);

    @TempDir
    static Path tmp;

    static Path checkpoint;

    @BeforeAll
    static void generate() throws Exception {
        checkpoint = tmp.resolve("ckpt");
        RandomInstructBlipCheckpoint.write(checkpoint, TINY, 7);
    }

    @Test
    void thePromptEncoderReadsTheGeneratedTokenizers() throws Exception {
        try (InstructBlipPromptEncoder encoder = InstructBlipPromptEncoder.fromCheckpoint(checkpoint)) {
            assertThat(encoder.imageTokenId()).isEqualTo(299);
            assertThat(encoder.specialTokens().pad()).isEqualTo(298);
            assertThat(encoder.specialTokens().eos()).containsExactly(2);
            assertThat(encoder.numQueryTokens()).isEqualTo(4);

            EncodedPrompt p = encoder.encode(Prompts.question("What color is the car?"));
            assertThat(p.textIds()[0]).isEqualTo(1);
            assertThat(p.textIds()).hasSize(1 + 11).doesNotContain(0); // 11 words and marks, all known: no <unk>
            assertThat(p.qformerIds()[0]).isEqualTo(2);
            assertThat(p.qformerIds()[p.qformerIds().length - 1]).isEqualTo(3);
            assertThat(p.qformerIds()).hasSize(2 + 11).doesNotContain(1);
            assertThat(encoder.decode(new int[] {1, p.textIds()[4], 2, 150}, true)).isEqualTo("color t150");
        }
    }

    @Test
    void theSameSeedWritesTheSameWeights() throws Exception {
        Path again = tmp.resolve("again");
        RandomInstructBlipCheckpoint.write(again, TINY, 7);
        assertThat(Files.mismatch(checkpoint.resolve("model.safetensors"), again.resolve("model.safetensors")))
                .isEqualTo(-1);
        assertThatThrownBy(() -> RandomInstructBlipCheckpoint.write(again, TINY, 7))
                .hasMessageContaining("already holds a checkpoint");
    }

    @Test
    void itConvertsAndGeneratesExactlyTheRequestedTokens() throws Exception {
        Path pkg = tmp.resolve("pkg");
        Models.convert(checkpoint, pkg);
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1));
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        GenerationConfig six = GenerationConfig.greedy(6).withMinNewTokens(6);
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            List<AnnotationOutcome> out = annotator.annotate(List.of(
                    new AnnotationInput("a", preprocessor.preprocess(RandomImages.png(1, 40, 30)),
                            Prompts.CAPTION_TEMPLATE, Task.CAPTION, List.of(), six),
                    new AnnotationInput("b", preprocessor.preprocess(RandomImages.png(2, 20, 50)),
                            Prompts.question("how many dogs?"), Task.VQA, List.of(), six)));
            for (AnnotationOutcome o : out) {
                assertThat(o.isSuccess()).as("%s", o).isTrue();
                assertThat(o.annotation().tokenIds()).hasSize(6);
            }
        }
    }

    @Test
    void badDimensionsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new RandomInstructBlipCheckpoint.Dims(
                30, 8, 48, 2, 4, 96, 32, 2, 4, 64, 150, 4, 64, 2, 4, 2, 128, 300, 256))
                .hasMessageContaining("patch size");
        assertThatThrownBy(() -> new RandomInstructBlipCheckpoint.Dims(
                32, 8, 48, 2, 4, 96, 32, 2, 4, 64, 150, 4, 64, 2, 4, 3, 128, 300, 256))
                .hasMessageContaining("KV heads");
        assertThatThrownBy(() -> new RandomInstructBlipCheckpoint.Dims(
                32, 8, 48, 2, 4, 96, 32, 2, 4, 64, 150, 4, 64, 2, 4, 2, 128, 20, 256))
                .hasMessageContaining("vocabularies");
    }
}
