package dev.loupe.jobs.caption;

import dev.loupe.flink.inference.ImageThumbnail;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Writes the pipeline's thumbnails into the output's {@code thumbs/} folder as {@code SEQUENCE.jpg} while the job
 * runs. Idempotent rather than transactional: a request replayed after a restore writes the same file again, and the
 * contact sheet, built once the job has finished, shows the thumbnails that exist.
 */
final class ThumbnailSink implements Sink<ImageThumbnail> {
    private static final long serialVersionUID = 1L;
    private final String folder;

    ThumbnailSink(Path folder) {
        this.folder = folder.toAbsolutePath().toString();
    }

    @Override
    public SinkWriter<ImageThumbnail> createWriter(WriterInitContext context) throws IOException {
        Path target = Path.of(folder);
        Files.createDirectories(target);
        Thumbnails thumbnails = Thumbnails.open();
        return new SinkWriter<>() {
            @Override
            public void write(ImageThumbnail thumbnail, Context context) {
                String sequence = thumbnail.metadata.get(RequestTemplate.SEQUENCE_KEY);
                if (sequence == null) {
                    return;
                }
                try {
                    thumbnails.write(thumbnail.toThumbnail(), target.resolve(sequence + ".jpg"));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write the thumbnail of " + thumbnail.requestId, e);
                }
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {
                thumbnails.close();
            }
        };
    }
}
