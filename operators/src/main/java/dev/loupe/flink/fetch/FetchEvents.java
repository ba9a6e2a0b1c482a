package dev.loupe.flink.fetch;

/**
 * What {@link ImageFetcher} reports for metrics: each retry of an http(s) request, and the HTTP status of each fetch
 * that finally failed on one. {@link AsyncImageFetch} counts them in its Flink metric group. Implementations must be
 * thread-safe.
 */
public interface FetchEvents {
    /** Nothing is counted. */
    FetchEvents NONE = new FetchEvents() {
        @Override
        public void retried() {}

        @Override
        public void failedWithStatus(int httpStatus) {}
    };

    /** One more attempt of an http(s) request after a transient fault. */
    void retried();

    /** A fetch ended in failure on this HTTP status (after any retries). */
    void failedWithStatus(int httpStatus);
}
