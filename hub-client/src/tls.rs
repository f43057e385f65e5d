//! `wss://`: how an app trusts its hub. A centre has no public certificate authority's
//! certificate on a LAN, so an app trusts either the centre's own CA (`--tls-ca FILE`, PEM) or
//! exactly one certificate, by the SHA-256 of its DER (`--tls-pin HEX`).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("a certificate pin is the SHA-256 of the certificate, 64 hexadecimal digits: {0:?}")]
    Pin(String),
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Trusts the certificate authorities in a PEM file (the centre's own CA).
pub fn trusting_ca(path: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let bad = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Whom a `wss://` link trusts as its settings say: the CA file if one is given, else the
/// pinned certificate, else nobody (`None`: a `ws://` link).
pub fn trusting(
    ca_file: Option<&Path>,
    pin: Option<&str>,
) -> Result<Option<Arc<ClientConfig>>, TlsError> {
    match (ca_file, pin) {
        (Some(ca), _) => trusting_ca(ca).map(Some),
        (None, Some(pin)) => pinned(pin).map(Some),
        (None, None) => Ok(None),
    }
}

/// Trusts exactly the certificate whose DER has this SHA-256 (hex), whatever its name or dates.
pub fn pinned(sha256_hex: &str) -> Result<Arc<ClientConfig>, TlsError> {
    let pin = parse_pin(sha256_hex).ok_or_else(|| TlsError::Pin(sha256_hex.to_string()))?;
    let verifier = Pinned {
        sha256: pin,
        provider: provider(),
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The SHA-256 of a certificate's DER, in hex: what `--tls-pin` takes.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_pin(hex: &str) -> Option<[u8; 32]> {
    let hex: String = hex.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[derive(Debug)]
struct Pinned {
    sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        if digest.as_ref() == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the hub's certificate is not the pinned one".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_64_hex_digits_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_pin(&hex), Some([0xab; 32]));
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_pin(&colons), Some([0xab; 32]));
        assert!(parse_pin("abcd").is_none());
        assert!(parse_pin(&"zz".repeat(32)).is_none());
        assert!(pinned("nope").is_err());
    }
}
