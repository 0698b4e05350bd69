// Position fixes from the platform's LocationManager (GPS, then network): no Google Play
// services, which most phones sold in China do not have.
package app.patrol.android.platform

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Looper
import app.patrol.logic.Fix
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

fun Location.toFix() = Fix(latitude, longitude, if (hasAccuracy()) accuracy.toDouble() else 999.0, time)

/**
 * Fixes every [intervalMs] while collected. The caller holds the location permission.
 * Both providers the phone has are asked, switched on or not: GPS switched on during a
 * run starts delivering without asking again.
 */
@SuppressLint("MissingPermission")
fun Context.fixes(intervalMs: Long = 2_000): Flow<Fix> = callbackFlow {
    val lm = getSystemService(Context.LOCATION_SERVICE) as LocationManager
    // An object with every method, not a lambda: before API 30 (minSdk is 26) the
    // provider and status callbacks have no default bodies, and a lambda listener throws
    // AbstractMethodError when GPS is switched on or off (or is off when asked).
    val listener = object : LocationListener {
        override fun onLocationChanged(location: Location) {
            trySend(location.toFix())
        }

        override fun onProviderEnabled(provider: String) {}

        override fun onProviderDisabled(provider: String) {}

        @Deprecated("Deprecated in API 29; called only before it")
        override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) {}
    }
    val providers = listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER).filter { it in lm.allProviders }
    providers.forEach { lm.requestLocationUpdates(it, intervalMs, 0f, listener, Looper.getMainLooper()) }
    providers.mapNotNull { lm.getLastKnownLocation(it) }.maxByOrNull { it.time }?.let { trySend(it.toFix()) }
    awaitClose { lm.removeUpdates(listener) }
}
