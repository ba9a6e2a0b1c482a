package dev.loupe.jobs.caption;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Checkpoint form of {@link InputSplit} (and of lists of them, for the enumerator's state). */
final class InputSplitSerializer implements SimpleVersionedSerializer<InputSplit> {
    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(InputSplit split) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            write(split, out);
        }
        return bytes.toByteArray();
    }

    @Override
    public InputSplit deserialize(int version, byte[] serialized) throws IOException {
        checkVersion(version);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            return read(in);
        }
    }

    static void write(InputSplit split, DataOutputStream out) throws IOException {
        out.writeInt(split.index());
        out.writeUTF(split.kind().name());
        writeNullable(split.path(), out);
        writeNullable(split.label(), out);
        writeNullable(split.column(), out);
        out.writeInt(split.files().size());
        for (int i = 0; i < split.files().size(); i++) {
            writeLong(split.files().get(i), out);
            writeLong(split.ids().get(i), out);
        }
        out.writeLong(split.position());
    }

    static InputSplit read(DataInputStream in) throws IOException {
        int index = in.readInt();
        InputSplit.Kind kind = InputSplit.Kind.valueOf(in.readUTF());
        String path = readNullable(in);
        String label = readNullable(in);
        String column = readNullable(in);
        int n = in.readInt();
        List<String> files = new ArrayList<>(n);
        List<String> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            files.add(readLong(in));
            ids.add(readLong(in));
        }
        return new InputSplit(index, kind, path, label, column, files, ids, in.readLong());
    }

    static void checkVersion(int version) throws IOException {
        if (version != VERSION) {
            throw new IOException("unknown caption split version " + version);
        }
    }

    private static void writeNullable(String s, DataOutputStream out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            writeLong(s, out);
        }
    }

    private static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? readLong(in) : null;
    }

    /** Strings of any length (writeUTF stops at 64 KB). */
    private static void writeLong(String s, DataOutputStream out) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readLong(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
}
