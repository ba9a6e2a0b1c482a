package dev.loupe.flink.fetch;

import dev.loupe.flink.request.ValidatedRequest;

/** A request with its encoded image bytes in hand, and how long fetching them took. */
public class FetchedImage {
    public ValidatedRequest request;
    public byte[] bytes;
    public long fetchMillis;

    public FetchedImage() {}

    public FetchedImage(ValidatedRequest request, byte[] bytes, long fetchMillis) {
        this.request = request;
        this.bytes = bytes;
        this.fetchMillis = fetchMillis;
    }
}
