// Position fixes from the platform's LocationManager (GPS, then network): no Google Play
// services, which most phones sold in China do not have.
package app.patrol.android.platform

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Looper
import androidx.core.content.ContextCompat
import app.patrol.logic.Fix
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

fun Location.toFix() = Fix(latitude, longitude, if (hasAccuracy()) accuracy.toDouble() else 999.0, time)

/**
 * Fixes every [intervalMs] while collected. Both providers the phone has are asked,
 * switched on or not: GPS switched on during a run starts delivering without asking
 * again. Only the providers the app holds the permission for are asked (GPS needs
 * precise location, the network provider either), so a flow started without it (refused,
 * or a one-time permission that has lapsed) gives no fixes instead of a SecurityException
 * in the collector (the run screen or the location service).
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
    val fine = granted(Manifest.permission.ACCESS_FINE_LOCATION)
    val coarse = fine || granted(Manifest.permission.ACCESS_COARSE_LOCATION)
    val providers = listOf(LocationManager.GPS_PROVIDER to fine, LocationManager.NETWORK_PROVIDER to coarse)
        .filter { (name, allowed) -> allowed && name in lm.allProviders }
        .map { it.first }
    providers.forEach { lm.requestLocationUpdates(it, intervalMs, 0f, listener, Looper.getMainLooper()) }
    providers.mapNotNull { lm.getLastKnownLocation(it) }.maxByOrNull { it.time }?.let { trySend(it.toFix()) }
    awaitClose { lm.removeUpdates(listener) }
}

private fun Context.granted(permission: String) =
    ContextCompat.checkSelfPermission(this, permission) == PackageManager.PERMISSION_GRANTED
