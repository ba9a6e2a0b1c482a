package dev.loupe.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Token ids and decoded text against transformers' InstructBlipProcessor outputs in the Vicuna fixture. */
class InstructBlipPromptEncoderTest {
    private static final List<URI> NETWORK_ATTEMPTS = new CopyOnWriteArrayList<>();
    private static ProxySelector previous;
    private static JsonNode reference;
    private static Path checkpoint;
    private static InstructBlipPromptEncoder encoder;

    @BeforeAll
    static void load() throws Exception {
        // Any HTTP(S) connection from Java code asks the default ProxySelector first: record and refuse.
        previous = ProxySelector.getDefault();
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                NETWORK_ATTEMPTS.add(uri);
                throw new IllegalStateException("network access attempted: " + uri);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
            }
        });
        reference = new ObjectMapper().readTree(HfFixture.VICUNA.dir().resolve("reference.json").toFile());
        checkpoint = HfFixture.VICUNA.dir().resolve("checkpoint");
        encoder = InstructBlipPromptEncoder.fromCheckpoint(checkpoint);
    }

    @AfterAll
    static void close() {
        encoder.close();
        ProxySelector.setDefault(previous);
    }

    /** A reference row without the padding its attention mask marks. */
    private static int[] unpadded(JsonNode ids, JsonNode mask) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            if (mask.get(i).asInt() == 1) {
                out.add(ids.get(i).asInt());
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void loadingTheTokenizersUsesNoNetwork() {
        assertThat(NETWORK_ATTEMPTS).isEmpty();
    }

    @Test
    void specialIdsComeFromTheCheckpoint() {
        SpecialTokenIds s = encoder.specialTokens();
        JsonNode ref = reference.path("special_ids");
        assertThat(s.bos()).isEqualTo(ref.path("bos").asInt());
        assertThat(s.eos()).containsExactly(ref.path("eos").asInt());
        assertThat(s.pad()).isEqualTo(ref.path("pad").asInt());
        assertThat(s.imageToken()).isEqualTo(ref.path("image_token_id").asInt());
        assertThat(encoder.numQueryTokens()).isEqualTo(8);
    }

    @Test
    void singlePromptMatchesProcessor() throws Exception {
        EncodedPrompt p = encoder.encode(reference.at("/single/prompt").asText(), 12);
        assertThat(p.inputIds()).containsExactly(ints(reference.at("/single/inputs/input_ids/values/0")));
        assertThat(p.qformerIds()).containsExactly(ints(reference.at("/single/inputs/qformer_input_ids/values/0")));
        assertThat(p.textIds()[0]).isEqualTo(encoder.specialTokens().bos());
        assertThat(p.inputLength()).isEqualTo(33);
    }

    @Test
    void everyBatchRowMatchesProcessorWithoutPadding() throws Exception {
        JsonNode prompts = reference.at("/batch/prompts");
        JsonNode inputs = reference.at("/batch/inputs");
        JsonNode right = reference.at("/batch/greedy_qformer_right_padded");
        for (int row = 0; row < prompts.size(); row++) {
            EncodedPrompt p = encoder.encode(prompts.get(row).asText());
            assertThat(p.inputIds()).as("row %d input_ids", row).containsExactly(
                    unpadded(inputs.at("/input_ids/values/" + row), inputs.at("/attention_mask/values/" + row)));
            assertThat(p.qformerIds()).as("row %d qformer_input_ids", row).containsExactly(
                    unpadded(inputs.at("/qformer_input_ids/values/" + row), inputs.at("/qformer_attention_mask/values/" + row)));
            assertThat(p.qformerIds()).as("row %d right-padded qformer_input_ids", row).containsExactly(
                    unpadded(right.at("/qformer_input_ids/values/" + row), right.at("/qformer_attention_mask/values/" + row)));
        }
    }

    @Test
    void byteFallbackPromptMatches() throws Exception {
        String prompt = reference.at("/batch/prompts/2").asText();
        assertThat(prompt).contains("café → ß 中");
        int[] ids = encoder.encode(prompt).inputIds();
        // UTF-8 bytes of the characters outside the tiny vocabulary appear as byte tokens (<0x..>, ids 3..258).
        assertThat(Arrays.stream(ids).filter(id -> id >= 3 && id < 259).count()).isGreaterThan(0);
    }

    @Test
    void rankPromptAndCandidatesMatch() throws Exception {
        JsonNode rank = reference.path("rank");
        assertThat(encoder.encode(rank.path("prompt").asText()).inputIds())
                .containsExactly(ints(rank.at("/input_ids/values/0")));
        for (JsonNode c : rank.path("candidates")) {
            assertThat(encoder.encodeCandidate(c.path("candidate").asText()))
                    .as(c.path("candidate").asText()).containsExactly(ints(c.path("cand_ids")));
        }
    }

    @Test
    void decodesGeneratedTextSkippingSpecialTokens() {
        JsonNode greedy = reference.at("/single/greedy");
        int[] ids = ints(greedy.path("new_token_ids"));
        assertThat(encoder.decode(ids, true)).isEqualTo(greedy.path("text").asText());
        assertThat(encoder.decode(ids, false)).isEqualTo(greedy.path("text_with_special").asText());
        for (JsonNode beam : reference.at("/single/beam/beams")) {
            assertThat(encoder.decode(ints(beam.path("new_token_ids")), true)).isEqualTo(beam.path("text").asText());
        }
        for (JsonNode row : reference.at("/batch/greedy_qformer_right_padded/rows")) {
            assertThat(encoder.decode(ints(row.path("new_token_ids")), true)).isEqualTo(row.path("text").asText());
        }
    }

    @Test
    void tooLongForTheContextIsRejected() throws Exception {
        String prompt = reference.at("/single/prompt").asText(); // 8 image + 25 text tokens
        assertThat(encoder.encode(prompt, 256 - 33).inputLength()).isEqualTo(33);
        assertThatThrownBy(() -> encoder.encode(prompt, 256 - 32))
                .isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.PROMPT_TOO_LONG))
                .hasMessageContaining("context of 256");
        String huge = "word ".repeat(100);
        assertThatThrownBy(() -> encoder.encode(huge))
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.PROMPT_TOO_LONG));
    }

    @Test
    void qformerTextOverItsLimitIsRejectedOrTruncated() throws Exception {
        String prompt = reference.at("/single/prompt").asText();
        int[] full = encoder.encode(prompt).qformerIds(); // 19 ids
        PromptLimits strict = InstructBlipPromptEncoder.defaultLimits(checkpoint);
        try (InstructBlipPromptEncoder rejecting = InstructBlipPromptEncoder.fromCheckpoint(checkpoint,
                new PromptLimits(strict.maxContextTokens(), 10, false, strict.maxPromptChars()));
             InstructBlipPromptEncoder truncating = InstructBlipPromptEncoder.fromCheckpoint(checkpoint,
                     new PromptLimits(strict.maxContextTokens(), 10, true, strict.maxPromptChars()))) {
            assertThatThrownBy(() -> rejecting.encode(prompt))
                    .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.PROMPT_TOO_LONG))
                    .hasMessageContaining("Q-Former");
            int[] cut = truncating.encode(prompt).qformerIds();
            // The Q-Former tokenizer truncates on the left: [CLS] + the last 8 body tokens + [SEP].
            int[] expected = new int[10];
            expected[0] = full[0];
            System.arraycopy(full, full.length - 9, expected, 1, 9);
            assertThat(cut).containsExactly(expected);
        }
    }

    @Test
    void defaultLimitsComeFromTheConfig() throws Exception {
        PromptLimits limits = encoder.limits();
        assertThat(limits.maxContextTokens()).isEqualTo(256);
        assertThat(limits.maxQformerTokens()).isEqualTo(64);
        assertThat(limits.truncateQformer()).isFalse();
    }

    @Test
    void concurrentEncodingGivesTheSameIds() throws Exception {
        String prompt = reference.at("/batch/prompts/2").asText();
        EncodedPrompt expected = encoder.encode(prompt);
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        assertThat(encoder.encode(prompt)).isEqualTo(expected);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failures).isEmpty();
    }
}
