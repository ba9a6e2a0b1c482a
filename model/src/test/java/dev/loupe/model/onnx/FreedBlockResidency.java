package dev.loupe.model.onnx;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.loupe.model.tools.ProcessResources;

/**
 * Test program run in its own JVM by {@link HostMallocTest} (a fresh process: glibc's dynamic thresholds untouched):
 * with argument {@code keep} it first calls {@link HostMalloc#keepFreedMemory()}; then it mallocs a block of
 * {@link #BLOCK} bytes, writes every page, frees it and prints how much of it left the resident set, then how much
 * more left it after {@link HostMalloc#releaseFreeMemory()}.
 */
public final class FreedBlockResidency {
    /** 24 MiB: above glibc's initial mmap threshold (128 KiB), below the 32 MiB the tuning sets. */
    static final long BLOCK = 24L << 20;

    private FreedBlockResidency() {}

    public static void main(String[] args) {
        boolean keep = args.length > 0 && args[0].equals("keep");
        if (keep && !HostMalloc.keepFreedMemory()) {
            System.out.println("TUNED=false");
            return;
        }
        long address = Native.malloc(BLOCK);
        new Pointer(address).setMemory(0, BLOCK, (byte) 1);
        long before = ProcessResources.residentBytes();
        Native.free(address);
        long after = ProcessResources.residentBytes();
        HostMalloc.releaseFreeMemory();
        long trimmed = ProcessResources.residentBytes();
        System.out.println("TUNED=" + keep);
        System.out.println("RELEASED=" + (before - after));
        System.out.println("TRIMMED=" + (after - trimmed));
    }
}
