// Position fixes from the platform's LocationManager (GPS, then network): no Google Play
// services, which most phones sold in China do not have.
package app.patrol.android.platform

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Looper
import app.patrol.logic.Fix
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

fun Location.toFix() = Fix(latitude, longitude, if (hasAccuracy()) accuracy.toDouble() else 999.0, time)

/** Fixes every [intervalMs] while collected. The caller holds the location permission. */
@SuppressLint("MissingPermission")
fun Context.fixes(intervalMs: Long = 2_000): Flow<Fix> = callbackFlow {
    val lm = getSystemService(Context.LOCATION_SERVICE) as LocationManager
    val listener = LocationListener { trySend(it.toFix()) }
    val providers = listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER).filter { lm.isProviderEnabled(it) }
    providers.forEach { lm.requestLocationUpdates(it, intervalMs, 0f, listener, Looper.getMainLooper()) }
    providers.mapNotNull { lm.getLastKnownLocation(it) }.maxByOrNull { it.time }?.let { trySend(it.toFix()) }
    awaitClose { lm.removeUpdates(listener) }
}
