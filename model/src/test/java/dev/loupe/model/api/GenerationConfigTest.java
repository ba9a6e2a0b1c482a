package dev.loupe.model.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.GenerationConfig.EarlyStopping;
import org.junit.jupiter.api.Test;

/** Generation settings: Hugging Face defaults and the edge validation. */
class GenerationConfigTest {
    @Test
    void earlyStoppingDefaultsToFalseAsHuggingFace() {
        assertThat(GenerationConfig.GREEDY.earlyStopping()).isEqualTo(EarlyStopping.FALSE);
        assertThat(new GenerationConfig(5, 0, 2, 1, 1, 1, false, 1, 1, 0, 0).earlyStopping())
                .isEqualTo(EarlyStopping.FALSE);
        assertThat(EarlyStopping.parse("never")).isEqualTo(EarlyStopping.NEVER);
        assertThat(EarlyStopping.parse("True")).isEqualTo(EarlyStopping.TRUE);
        assertThatThrownBy(() -> EarlyStopping.parse("soon")).hasMessageContaining("true, false or never");
    }

    @Test
    void withersChangeOneSettingOnly() {
        GenerationConfig c = GenerationConfig.greedy(7).withBeams(4, 2).withLengthPenalty(0.5)
                .withEarlyStopping(EarlyStopping.NEVER).withRepetitionPenalty(1.3)
                .withSampling(true, 0.7, 40, 0.9).withSeed(11);
        assertThat(c).isEqualTo(new GenerationConfig(7, 0, 4, 2, 0.5, 1.3, true, 0.7, 0.9, 40, 11,
                EarlyStopping.NEVER));
        assertThat(c.withSeed(0)).isNotEqualTo(c);
        assertThat(c.withSeed(0).withSeed(11)).isEqualTo(c);
    }

    @Test
    void everyConfigIsCheckedWhereItIsBuilt() {
        assertThatThrownBy(() -> new GenerationConfig(5, 6, 1, 1, 1, 1, false, 1, 1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("minNewTokens");
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withMinNewTokens(6)).hasMessageContaining("minNewTokens");
        assertThatThrownBy(() -> GenerationConfig.greedy(0)).hasMessageContaining("maxNewTokens");
        // a builder checks the settings together, whatever order they were set in
        assertThat(GenerationConfig.greedy(5).toBuilder().numReturnSequences(3).doSample(true).build()
                .numReturnSequences()).isEqualTo(3);
        assertThat(GenerationConfig.greedy(20).toBuilder().minNewTokens(10).maxNewTokens(12).build().minNewTokens())
                .isEqualTo(10);
        assertThatThrownBy(() -> GenerationConfig.greedy(5).toBuilder().numReturnSequences(3).build())
                .hasMessageContaining("numReturnSequences");
    }

    @Test
    void validationNamesTheBadSetting() {
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withBeams(2, 3))
                .hasMessageContaining("numReturnSequences");
        assertThat(GenerationConfig.greedy(5).withSampling(true, 1, 0, 1).withBeams(1, 3).numReturnSequences())
                .isEqualTo(3);
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withBeams(2, 3).withSampling(true, 1, 0, 1))
                .hasMessageContaining("numReturnSequences");
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withRepetitionPenalty(0))
                .hasMessageContaining("repetitionPenalty");
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withSampling(true, 0, 0, 1))
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withSampling(true, 1, 0, 0))
                .hasMessageContaining("topP");
        assertThatThrownBy(() -> GenerationConfig.greedy(5).withLengthPenalty(Double.NaN))
                .hasMessageContaining("lengthPenalty");
    }
}
