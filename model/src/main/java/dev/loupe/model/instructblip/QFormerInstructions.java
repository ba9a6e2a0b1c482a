package dev.loupe.model.instructblip;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import java.util.Arrays;
import java.util.List;

/**
 * The Q-Former's instruction input of a batch, as both image sides feed it ({@link ImageEncoder} through the Java
 * API, {@link BoundImageSide} through IoBinding): each row's tokens checked against the Q-Former's vocabulary and
 * position table, then right-padded with its pad token and masked, so that a row's result equals that row run alone.
 * BLIP-2's Q-Former reads no instruction: its rows are ignored (one masked column).
 *
 * @param ids     flat [rows, width] token ids
 * @param mask    flat [rows, width], 1 on each row's own tokens
 * @param width   the longest row (at least 1)
 */
record QFormerInstructions(long[] ids, long[] mask, int width) {

    /** Checks that there is one instruction row per image and, where the Q-Former reads them, their tokens. */
    static void check(InstructBlipConfig config, List<ImageTensor> images, long[][] qformerIds)
            throws AnnotationException {
        int batch = images.size();
        if (batch == 0 || qformerIds == null || qformerIds.length != batch) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "need one Q-Former token row per image, got "
                    + batch + " images and " + (qformerIds == null ? "no" : qformerIds.length) + " rows");
        }
        if (config.qformerTextInput()) {
            for (long[] row : qformerIds) {
                validate(config, row);
            }
        }
    }

    /** The padded, masked rows of {@code qformerIds} (checked already). */
    static QFormerInstructions pad(InstructBlipConfig config, long[][] qformerIds) {
        int batch = qformerIds.length;
        boolean textInput = config.qformerTextInput();
        int width = 1;
        if (textInput) {
            for (long[] row : qformerIds) {
                width = Math.max(width, row.length);
            }
        }
        long[] ids = new long[batch * width];
        long[] mask = new long[batch * width];
        Arrays.fill(ids, config.qformer().padTokenId());
        for (int b = 0; b < batch && textInput; b++) {
            System.arraycopy(qformerIds[b], 0, ids, b * width, qformerIds[b].length);
            Arrays.fill(mask, b * width, b * width + qformerIds[b].length, 1L);
        }
        return new QFormerInstructions(ids, mask, width);
    }

    private static void validate(InstructBlipConfig config, long[] row) throws AnnotationException {
        if (row == null) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "Q-Former token row is null");
        }
        int max = config.qformer().maxPositionEmbeddings();
        if (row.length > max) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "Q-Former instruction has " + row.length
                    + " tokens, the model allows " + max);
        }
        int vocab = config.qformer().vocabSize();
        for (long id : row) {
            if (id < 0 || id >= vocab) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "Q-Former token id " + id
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
    }
}
