/**
 * {@code loupe run --demo-images}: sample images, and a feed that sends them to the streaming job and prints what
 * comes back.
 */
package dev.loupe.jobs.demo;
