package dev.loupe.flink.fetch;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the fetch stage needs, taken from the pipeline's validated options: the {@link ImageFetcher}'s limits,
 * network policy and HTTP behaviour (retries, per-host limit, User-Agent), and how many fetches
 * {@link AsyncImageFetch} runs at once. Serialisable with the job graph, so file roots are kept as strings.
 */
public record FetchSettings(List<String> fileRoots, long maxBytes, Duration timeout, List<String> allowedHosts,
                            int maxRedirects, int concurrency, HttpFetchOptions http) implements Serializable {
    public FetchSettings {
        fileRoots = List.copyOf(fileRoots);
        allowedHosts = List.copyOf(allowedHosts);
    }

    /** A fetcher with these limits and this network policy, reporting no events. */
    public ImageFetcher newFetcher() {
        return newFetcher(FetchEvents.NONE);
    }

    /** A fetcher with these limits and this network policy, reporting retries and failures to {@code events}. */
    public ImageFetcher newFetcher(FetchEvents events) {
        return new ImageFetcher(fileRoots.stream().map(Path::of).toList(), maxBytes, timeout,
                new AddressPolicy(allowedHosts), maxRedirects, http, events);
    }
}
