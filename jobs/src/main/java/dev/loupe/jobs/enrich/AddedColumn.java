package dev.loupe.jobs.enrich;

import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.Task;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One column the enrichment adds and the request that fills it: a caption, the answer to a question, or the best
 * of a list of candidate labels. {@link #promptHash()} identifies what is asked, so that a re-run recomputes a
 * column whose question, candidates or generation settings changed.
 *
 * @param maxNewTokens null: the model's default
 * @param numBeams null: the model's default
 */
public record AddedColumn(String name, Task task, String question, List<String> candidates, Integer maxNewTokens,
        Integer numBeams) implements Serializable {

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    public AddedColumn {
        checkName(name);
        candidates = List.copyOf(candidates);
    }

    /** Column names are Avro/Parquet names: letters, digits and _, not starting with a digit. */
    static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' cannot name an added column: use letters, digits "
                    + "and _ (not starting with a digit)");
        }
    }

    static boolean isName(String name) {
        return NAME.matcher(name).matches();
    }

    /**
     * The request for this column on the image with journal key {@code key}: the image at that URI, or
     * {@code bytes} inline when not null; its id is {@link #requestId}.
     */
    AnnotationRequest request(String key, byte[] bytes) {
        ImageSource image = bytes == null ? ImageSource.newBuilder().setUri(key).build()
                : ImageSource.newBuilder().setBytes(ByteBuffer.wrap(bytes)).build();
        AnnotationRequest.Builder request = AnnotationRequest.newBuilder()
                .setId(requestId(name, key))
                .setImage(image)
                .setTask(task)
                .setQuestion(question)
                .setCandidates(candidates);
        if (task != Task.RANK && (maxNewTokens != null || numBeams != null)) {
            request.setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(maxNewTokens)
                    .setNumBeams(numBeams).build());
        }
        return request.build();
    }

    /** {@code column:key} (the image's journal key); column names hold no colon, so the first one splits it. */
    static String requestId(String column, String key) {
        return column + ":" + key;
    }

    /** A short hash of the task, question, candidates and generation settings. */
    public String promptHash() {
        String what = task + "\n" + (question == null ? "" : question) + "\n" + String.join("\u001f", candidates)
                + "\n" + (task == Task.RANK ? "" : maxNewTokens + "/" + numBeams);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(what.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The name of the scores column of a ranking. */
    String scoresColumn() {
        return name + "_scores";
    }
}
