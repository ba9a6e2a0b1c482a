package dev.loupe.jobs.caption;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.Encoder;

/** Writes a {@link CaptionRow} as one JSON line with its order key: the job's part-file format. */
final class CaptionRowEncoder implements Encoder<CaptionRow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void encode(CaptionRow row, OutputStream out) throws IOException {
        out.write(row.toJsonLine(true).getBytes(StandardCharsets.UTF_8));
        out.write('\n');
    }
}
