package dev.loupe.flink.fetch;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the fetch stage needs, taken from the pipeline's validated options: the {@link ImageFetcher}'s limits and
 * network policy, and how many fetches {@link AsyncImageFetch} runs at once. Serialisable with the job graph, so
 * file roots are kept as strings.
 */
public record FetchSettings(List<String> fileRoots, long maxBytes, Duration timeout, List<String> allowedHosts,
                            int maxRedirects, int concurrency) implements Serializable {
    public FetchSettings {
        fileRoots = List.copyOf(fileRoots);
        allowedHosts = List.copyOf(allowedHosts);
    }

    /** A fetcher with these limits and this network policy. */
    public ImageFetcher newFetcher() {
        return new ImageFetcher(fileRoots.stream().map(Path::of).toList(), maxBytes, timeout,
                new AddressPolicy(allowedHosts), maxRedirects);
    }
}
