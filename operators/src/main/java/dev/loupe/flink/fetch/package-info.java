/**
 * The SSRF-safe image fetch: file roots, the network {@link dev.loupe.flink.fetch.AddressPolicy} (also the HTTP
 * client's only DNS resolver, so connections go to the checked addresses), redirects checked hop by hop, retries of
 * transient faults, a per-host limit and size limits ({@link dev.loupe.flink.fetch.ImageFetcher},
 * {@link dev.loupe.flink.fetch.HttpFetchOptions}), run with bounded Flink async I/O
 * ({@link dev.loupe.flink.fetch.AsyncImageFetch}).
 */
package dev.loupe.flink.fetch;
