package dev.loupe.jobs.caption;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.CandidateScore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One output row of {@code loupe caption}: an image's caption (or answer, or candidate scores) or its error, with
 * its place in the output order. Its JSON form is the contract line of {@code results.jsonl}
 * ({@code {"image","prompt","task","text","score","model",...}} or {@code {"image","error":{"code","message"}}});
 * the job's part files add the order key as {@code "sequence"}; a WebDataset sample's row adds {@code "sample"}
 * (its key and text members). A Flink POJO.
 */
public class CaptionRow {
    private static final ObjectMapper JSON = new ObjectMapper();

    public String sequence;
    public String image;
    public String task;
    public String prompt;
    public String text;
    public Double score;
    /** Candidate texts and scores of task rank, in input order. */
    public List<String> candidateTexts = new ArrayList<>();
    public List<Double> candidateScores = new ArrayList<>();
    public String model;
    public String errorCode;
    public String errorMessage;
    /** A WebDataset sample's key and text members (a JSON object), written as {@code "sample"}; null otherwise. */
    public String sample;

    public CaptionRow() {}

    public static CaptionRow of(AnnotationResult r) {
        CaptionRow row = new CaptionRow();
        row.sequence = r.getMetadata().get(RequestTemplate.SEQUENCE_KEY);
        row.image = r.getId();
        row.task = r.getTask();
        row.prompt = r.getPrompt();
        row.text = r.getText();
        row.score = r.getScore();
        for (CandidateScore c : r.getCandidates()) {
            row.candidateTexts.add(c.getText());
            row.candidateScores.add(c.getScore());
        }
        row.model = r.getModelId() + (r.getModelVersion().isEmpty() ? "" : "@" + r.getModelVersion());
        row.sample = r.getMetadata().get(RequestTemplate.SAMPLE_KEY);
        return row;
    }

    public static CaptionRow of(AnnotationFailure f) {
        CaptionRow row = new CaptionRow();
        row.sequence = f.getMetadata().get(RequestTemplate.SEQUENCE_KEY);
        row.image = f.getId();
        row.errorCode = f.getErrorCode();
        row.errorMessage = f.getMessage();
        row.sample = f.getMetadata().get(RequestTemplate.SAMPLE_KEY);
        return row;
    }

    public boolean failed() {
        return errorCode != null;
    }

    /** The results.jsonl object; with {@code withSequence} the order key first (the part files' form). */
    public ObjectNode toJson(boolean withSequence) {
        ObjectNode o = JSON.createObjectNode();
        if (withSequence) {
            o.put("sequence", sequence);
        }
        o.put("image", image);
        if (failed()) {
            o.putObject("error").put("code", errorCode).put("message", errorMessage);
            putSample(o);
            return o;
        }
        o.put("prompt", prompt);
        o.put("task", task);
        o.put("text", text);
        if (score == null) {
            o.putNull("score");
        } else {
            o.put("score", score);
        }
        if (!candidateTexts.isEmpty()) {
            ArrayNode cs = o.putArray("candidates");
            for (int i = 0; i < candidateTexts.size(); i++) {
                cs.addObject().put("text", candidateTexts.get(i)).put("score", candidateScores.get(i));
            }
        }
        o.put("model", model);
        putSample(o);
        return o;
    }

    private void putSample(ObjectNode o) {
        if (sample != null) {
            try {
                o.set("sample", JSON.readTree(sample));
            } catch (IOException e) {
                throw new UncheckedIOException("a row's sample fields are not JSON", e);
            }
        }
    }

    public String toJsonLine(boolean withSequence) {
        try {
            return JSON.writeValueAsString(toJson(withSequence));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses a line written by {@link #toJsonLine}. */
    public static CaptionRow parse(String line) throws IOException {
        JsonNode o = JSON.readTree(line);
        CaptionRow row = new CaptionRow();
        row.sequence = text(o, "sequence");
        row.image = text(o, "image");
        row.sample = o.hasNonNull("sample") ? o.get("sample").toString() : null;
        JsonNode error = o.get("error");
        if (error != null) {
            row.errorCode = text(error, "code");
            row.errorMessage = text(error, "message");
            return row;
        }
        row.prompt = text(o, "prompt");
        row.task = text(o, "task");
        row.text = text(o, "text");
        row.score = o.hasNonNull("score") ? o.get("score").asDouble() : null;
        for (JsonNode c : o.path("candidates")) {
            row.candidateTexts.add(text(c, "text"));
            row.candidateScores.add(c.get("score").asDouble());
        }
        row.model = text(o, "model");
        return row;
    }

    private static String text(JsonNode o, String field) {
        JsonNode n = o.get(field);
        return n == null || n.isNull() ? null : n.asText();
    }
}
