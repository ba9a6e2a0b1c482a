package dev.loupe.flink.inference;

import dev.loupe.model.api.Thumbnail;
import java.util.HashMap;
import java.util.Map;

/**
 * A request's image as a small RGB thumbnail, made by {@link PreprocessFunction} from the decode that fed the
 * model, for a job that shows images next to their annotations. Carries the request's id and metadata so the job can
 * place it. A Flink POJO.
 */
public class ImageThumbnail {
    public String requestId;
    public Map<String, String> metadata = new HashMap<>();
    public int width;
    public int height;
    /** Interleaved 8-bit RGB, rows top to bottom. */
    public byte[] rgb;

    public ImageThumbnail() {}

    public ImageThumbnail(String requestId, Map<String, String> metadata, Thumbnail thumbnail) {
        this.requestId = requestId;
        this.metadata = new HashMap<>(metadata);
        this.width = thumbnail.width();
        this.height = thumbnail.height();
        this.rgb = thumbnail.rgb();
    }

    public Thumbnail toThumbnail() {
        return new Thumbnail(width, height, rgb);
    }
}
