package dev.loupe.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Byte-level BPE (OPT) candidates get a leading space: checked against the BLIP-2 OPT fixture's ranking ids. */
class ByteLevelCandidateTest {

    @Test
    void optCandidatesMatchReference() throws Exception {
        Path opt = HfFixture.root().resolve("blip2-opt");
        JsonNode reference = new ObjectMapper().readTree(opt.resolve("reference.json").toFile());
        Path qformerTokenizer = HfFixture.VICUNA.dir().resolve("checkpoint/qformer_tokenizer/tokenizer.json");
        SpecialTokenIds special = new SpecialTokenIds(2, new int[]{2}, 1, 320, -1);
        try (InstructBlipPromptEncoder encoder = InstructBlipPromptEncoder.create(opt.resolve("checkpoint/tokenizer.json"),
                qformerTokenizer, 4, special, new PromptLimits(2048, 512, false, 100_000), false)) {
            for (JsonNode c : reference.at("/rank/candidates")) {
                int[] expected = c.path("cand_ids").traverse(new ObjectMapper()).readValueAs(int[].class);
                assertThat(encoder.encodeCandidate(c.path("candidate").asText())).as(c.path("candidate").asText())
                        .containsExactly(expected);
            }
        }
    }
}
