package dev.loupe.jobs.enrich;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.CandidateScore;
import java.io.Serializable;
import java.util.Map;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * Turns the pipeline's results and failures into {@link Journal} records: the request id says which image and
 * column ({@link AddedColumn#requestId}); a caption or answer is the result's text, a ranking the label scored
 * highest (with every label's score as JSON), a failure {@code CODE: message}.
 */
final class JournalRecords {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JournalRecords() {}

    static FlatMapFunction<AnnotationResult, JournalRecord> results(String model, Map<String, String> promptByColumn) {
        return new FromResults(model, promptByColumn);
    }

    static FlatMapFunction<AnnotationFailure, JournalRecord> failures(String model, Map<String, String> promptByColumn) {
        return new FromFailures(model, promptByColumn);
    }

    private record FromResults(String model, Map<String, String> promptByColumn)
            implements FlatMapFunction<AnnotationResult, JournalRecord>, Serializable {
        @Override
        public void flatMap(AnnotationResult result, Collector<JournalRecord> out) {
            String id = result.getId().toString();
            int colon = id.indexOf(':');
            String column = id.substring(0, colon);
            String uri = id.substring(colon + 1);
            String value = result.getText() == null ? null : result.getText().toString();
            String scores = null;
            if (!result.getCandidates().isEmpty()) {
                ObjectNode byLabel = JSON.createObjectNode();
                CandidateScore best = null;
                for (CandidateScore candidate : result.getCandidates()) {
                    byLabel.put(candidate.getText().toString(), candidate.getScore());
                    if (best == null || candidate.getScore() > best.getScore()) {
                        best = candidate;
                    }
                }
                value = best.getText().toString();
                scores = byLabel.toString();
            }
            out.collect(new JournalRecord(uri, column, value, scores, null, model, promptByColumn.get(column)));
        }
    }

    private record FromFailures(String model, Map<String, String> promptByColumn)
            implements FlatMapFunction<AnnotationFailure, JournalRecord>, Serializable {
        @Override
        public void flatMap(AnnotationFailure failure, Collector<JournalRecord> out) {
            if (failure.getId() == null) {
                return;   // the job writes every request itself: an undecodable one is not one of its rows
            }
            String id = failure.getId().toString();
            int colon = id.indexOf(':');
            String column = id.substring(0, colon);
            out.collect(new JournalRecord(id.substring(colon + 1), column, null, null,
                    failure.getErrorCode() + ": " + failure.getMessage(), model, promptByColumn.get(column)));
        }
    }
}
