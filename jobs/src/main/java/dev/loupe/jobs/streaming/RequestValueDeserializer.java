package dev.loupe.jobs.streaming;

import java.io.IOException;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Passes request values through as raw bytes, so decoding errors become dead letters in the pipeline rather
 * than source failures. A tombstone (null value) becomes an empty array, which the decoder rejects as
 * undecodable.
 */
public final class RequestValueDeserializer implements KafkaRecordDeserializationSchema<byte[]> {

    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<byte[]> out) throws IOException {
        out.collect(record.value() == null ? new byte[0] : record.value());
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
    }
}
