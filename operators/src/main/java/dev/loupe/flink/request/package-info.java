/**
 * The pipeline's first stage: Avro bytes decoded ({@link dev.loupe.flink.request.RequestDecoder}) or typed requests
 * taken as they are ({@link dev.loupe.flink.request.RequestValidation}), each checked once by the
 * {@link dev.loupe.flink.request.RequestValidator} into a {@link dev.loupe.flink.request.ValidatedRequest}; and how a
 * request's image URI may be shown ({@link dev.loupe.flink.request.UriRedaction}).
 */
package dev.loupe.flink.request;
