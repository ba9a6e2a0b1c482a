package dev.loupe.schemas.registry;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The schema registry wire format shared by Confluent's and Apicurio's (Confluent-compatible) serializers: magic
 * byte 0, the schema's registry id as a 4-byte big-endian int, then the record in Avro binary.
 */
public final class WireFormat {

    /** The first byte of every framed value. */
    public static final byte MAGIC_BYTE = 0;

    /** Magic byte and schema id. */
    public static final int HEADER_LENGTH = 5;

    private WireFormat() {}

    /** {@code avro} framed with {@code schemaId}. */
    public static byte[] frame(int schemaId, byte[] avro) {
        return ByteBuffer.allocate(HEADER_LENGTH + avro.length).put(MAGIC_BYTE).putInt(schemaId).put(avro).array();
    }

    /** The schema id of a framed value; throws SerializationException when {@code value} is not framed. */
    public static int schemaId(byte[] value) {
        if (value.length < HEADER_LENGTH) {
            throw new SerializationException("not in the schema registry wire format: " + value.length
                    + " bytes, shorter than the 5-byte header (magic byte 0 and schema id)");
        }
        if (value[0] != MAGIC_BYTE) {
            throw new SerializationException(String.format("not in the schema registry wire format: magic byte "
                    + "0x%02x instead of 0x00 (plain Avro, or another serializer's format?)", value[0] & 0xff));
        }
        return ByteBuffer.wrap(value, 1, 4).getInt();
    }

    /** The Avro binary after the header of a framed value. */
    public static byte[] payload(byte[] value) {
        schemaId(value);
        return Arrays.copyOfRange(value, HEADER_LENGTH, value.length);
    }
}
