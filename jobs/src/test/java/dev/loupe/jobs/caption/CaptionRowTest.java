package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.CandidateScore;
import dev.loupe.schemas.Timings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The results.jsonl contract shapes of a caption row, and the part-file form read back. */
class CaptionRowTest {

    @Test
    void aRankResultKeepsItsCandidatesInOrderAndRoundTripsThroughThePartForm() throws Exception {
        AnnotationResult result = AnnotationResult.newBuilder().setId("a.tar!/x.png").setTask("rank")
                .setPrompt("Question: what? Short answer:").setText("a cat").setScore(-0.5)
                .setCandidates(List.of(new CandidateScore("a cat", -0.5), new CandidateScore("a dog", -2.25)))
                .setModelId("m").setModelVersion("v1").setTimings(new Timings(0L, 0L, 0L, 0L))
                .setMetadata(Map.of(RequestTemplate.SEQUENCE_KEY, "000003-0000000007")).build();
        CaptionRow row = CaptionRow.of(result);

        assertThat(row.toJsonLine(false)).isEqualTo("{\"image\":\"a.tar!/x.png\",\"prompt\":\"Question: what? Short "
                + "answer:\",\"task\":\"rank\",\"text\":\"a cat\",\"score\":-0.5,\"candidates\":[{\"text\":\"a cat\","
                + "\"score\":-0.5},{\"text\":\"a dog\",\"score\":-2.25}],\"model\":\"m@v1\"}");
        CaptionRow back = CaptionRow.parse(row.toJsonLine(true));
        assertThat(back.sequence).isEqualTo("000003-0000000007");
        assertThat(back.toJsonLine(true)).isEqualTo(row.toJsonLine(true));
        assertThat(CaptionTable.row(back).get(5)).isEqualTo("[{\"text\":\"a cat\",\"score\":-0.5},"
                + "{\"text\":\"a dog\",\"score\":-2.25}]");
    }

    @Test
    void aFailureIsTheImageAndItsError() throws Exception {
        AnnotationFailure failure = AnnotationFailure.newBuilder().setId("photos/x.jpg").setStage("preprocess")
                .setErrorCode("IMAGE_CORRUPT").setMessage("truncated").setTimestampMillis(1L)
                .setMetadata(Map.of(RequestTemplate.SEQUENCE_KEY, "000000-0000000001")).build();
        CaptionRow row = CaptionRow.of(failure);

        assertThat(row.toJsonLine(false))
                .isEqualTo("{\"image\":\"photos/x.jpg\",\"error\":{\"code\":\"IMAGE_CORRUPT\",\"message\":\"truncated\"}}");
        assertThat(CaptionRow.parse(row.toJsonLine(true)).failed()).isTrue();
    }
}
