/**
 * WebDataset shards (the tar layout of img2dataset, LAION, DataComp): tar members grouped into samples by key, read
 * in one streaming pass ({@link dev.loupe.jobs.webdataset.ShardReader}) and copied member by member with one member
 * added per sample ({@link dev.loupe.jobs.webdataset.ShardCopier}). Used by {@code loupe caption} and
 * {@code loupe enrich}; knows nothing of either.
 */
package dev.loupe.jobs.webdataset;
