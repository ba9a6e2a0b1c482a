/**
 * The streaming annotation job: Kafka requests through the annotation pipeline to exactly-once Kafka results and
 * dead letters ({@link dev.loupe.jobs.streaming.StreamingAnnotationJob}), its settings, arguments, Kafka client
 * properties and record (de)serializers.
 */
package dev.loupe.jobs.streaming;
