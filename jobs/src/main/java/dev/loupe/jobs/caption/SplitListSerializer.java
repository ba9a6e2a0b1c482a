package dev.loupe.jobs.caption;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Checkpoint form of the enumerator's remaining splits. */
final class SplitListSerializer implements SimpleVersionedSerializer<Collection<InputSplit>> {
    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(Collection<InputSplit> splits) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(splits.size());
            for (InputSplit split : splits) {
                InputSplitSerializer.write(split, out);
            }
        }
        return bytes.toByteArray();
    }

    @Override
    public Collection<InputSplit> deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("unknown caption enumerator state version " + version);
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            int n = in.readInt();
            List<InputSplit> splits = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                splits.add(InputSplitSerializer.read(in));
            }
            return splits;
        }
    }
}
