/** Managed providers' own point-in-time restores (Neon, Supabase) behind one interface. */
@NullMarked
package dev.savepoint.providers;

import org.jspecify.annotations.NullMarked;
