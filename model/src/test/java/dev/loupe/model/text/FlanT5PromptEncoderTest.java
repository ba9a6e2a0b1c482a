package dev.loupe.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;

/** The same encoder on the InstructBLIP Flan-T5 fixture: EOS-terminated prompts, no BOS, right padding. */
class FlanT5PromptEncoderTest {
    private static JsonNode reference;
    private static InstructBlipPromptEncoder encoder;

    @BeforeAll
    static void load() throws Exception {
        var dir = HfFixture.root().resolve("instructblip-flant5");
        reference = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        encoder = InstructBlipPromptEncoder.fromCheckpoint(dir.resolve("checkpoint"));
    }

    @AfterAll
    static void close() {
        encoder.close();
    }

    private static int[] unpadded(JsonNode ids, JsonNode mask) {
        return java.util.stream.IntStream.range(0, ids.size()).filter(i -> mask.get(i).asInt() == 1)
                .map(i -> ids.get(i).asInt()).toArray();
    }

    @Test
    void specialIds() {
        SpecialTokenIds s = encoder.specialTokens();
        assertThat(s.bos()).isEqualTo(-1);
        assertThat(s.eos()).containsExactly(reference.at("/special_ids/eos").asInt());
        assertThat(s.pad()).isEqualTo(reference.at("/special_ids/pad").asInt());
        assertThat(s.imageToken()).isEqualTo(reference.at("/special_ids/image_token_id").asInt());
        assertThat(s.decoderStart()).isEqualTo(0);
        assertThat(encoder.numQueryTokens()).isEqualTo(6);
    }

    @Test
    void singleBatchAndRankPromptsMatch() throws Exception {
        EncodedPrompt single = encoder.encode(reference.at("/single/prompt").asText());
        assertThat(single.inputIds()).containsExactly(ints(reference.at("/single/inputs/input_ids/values/0")));
        assertThat(single.qformerIds()).containsExactly(ints(reference.at("/single/inputs/qformer_input_ids/values/0")));
        JsonNode inputs = reference.at("/batch/inputs");
        for (int row = 0; row < 3; row++) {
            EncodedPrompt p = encoder.encode(reference.at("/batch/prompts/" + row).asText());
            assertThat(p.inputIds()).as("row %d", row).containsExactly(
                    unpadded(inputs.at("/input_ids/values/" + row), inputs.at("/attention_mask/values/" + row)));
            assertThat(p.qformerIds()).as("row %d qformer", row).containsExactly(
                    unpadded(inputs.at("/qformer_input_ids/values/" + row), inputs.at("/qformer_attention_mask/values/" + row)));
        }
        assertThat(encoder.encode(reference.at("/rank/prompt").asText()).inputIds())
                .containsExactly(ints(reference.at("/rank/input_ids/values/0")));
        for (JsonNode c : reference.at("/rank/candidates")) {
            assertThat(encoder.encodeCandidate(c.path("candidate").asText())).containsExactly(ints(c.path("cand_ids")));
        }
    }

    @Test
    void decodesGreedyText() {
        JsonNode greedy = reference.at("/single/greedy");
        assertThat(encoder.decode(ints(greedy.path("new_token_ids")), true)).isEqualTo(greedy.path("text").asText());
    }
}
