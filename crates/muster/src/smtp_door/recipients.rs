//! Whom the door takes mail for: whole domains, and addresses with their `+tag` variants
//! (`support@example.com` takes `support+MX-7K3Q9P@example.com`, the case's own address).

/// The configured recipients, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients {
    domains: Vec<String>,
    addresses: Vec<(String, String)>,
}

impl Recipients {
    /// Reads `entries` (`example.com` or `local@example.com`); at least one is needed.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut recipients = Self {
            domains: Vec::new(),
            addresses: Vec::new(),
        };
        for entry in entries.iter().map(|e| e.trim().to_lowercase()) {
            let valid_domain = |d: &str| {
                !d.is_empty()
                    && d.contains('.')
                    && d.chars()
                        .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            };
            match entry.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && valid_domain(domain) => recipients
                    .addresses
                    .push((local.to_owned(), domain.to_owned())),
                None if valid_domain(&entry) => recipients.domains.push(entry),
                _ => {
                    return Err(format!(
                        "\"{entry}\" is neither a domain (example.com) nor an address (support@example.com)"
                    ));
                }
            }
        }
        if recipients.domains.is_empty() && recipients.addresses.is_empty() {
            return Err(
                "name the domains or addresses the door takes mail for, like [\"crisis.example.com\"]"
                    .to_owned(),
            );
        }
        Ok(recipients)
    }

    /// Whether mail for `address` (an envelope recipient) is ours, in any letter case.
    pub fn accepts(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        let Some((local, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let base = local.split_once('+').map_or(local, |(base, _)| base);
        self.domains.iter().any(|d| d == domain)
            || self
                .addresses
                .iter()
                .any(|(l, d)| d == domain && (l == local || l == base))
    }
}

#[cfg(test)]
mod tests {
    use super::Recipients;

    #[test]
    fn domains_and_addresses_with_their_tags_are_ours() {
        let recipients = Recipients::parse(&[
            "crisis.example.com".to_owned(),
            " Support@Example.com ".to_owned(),
        ]);
        let Ok(recipients) = recipients else {
            panic!("{recipients:?}");
        };
        assert!(recipients.accepts("anyone@crisis.example.com"));
        assert!(recipients.accepts("support@example.com"));
        assert!(recipients.accepts("SUPPORT+mx-7k3q9p@EXAMPLE.com"));
        assert!(!recipients.accepts("sales@example.com"));
        assert!(!recipients.accepts("support@example.org"));
        assert!(!recipients.accepts("kari@sub.crisis.example.com"));
        assert!(!recipients.accepts(""));
        assert!(Recipients::parse(&[]).is_err());
        assert!(Recipients::parse(&["@example.com".to_owned()]).is_err());
        assert!(Recipients::parse(&["localhost".to_owned()]).is_err());
    }
}
