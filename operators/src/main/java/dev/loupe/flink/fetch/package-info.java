/**
 * The SSRF-safe image fetch: file roots, the network {@link dev.loupe.flink.fetch.AddressPolicy}, redirects checked
 * hop by hop and size limits ({@link dev.loupe.flink.fetch.ImageFetcher}), run with bounded Flink async I/O
 * ({@link dev.loupe.flink.fetch.AsyncImageFetch}).
 */
package dev.loupe.flink.fetch;
