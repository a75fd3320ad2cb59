//! Closed sets of values with one spelling each (methods, store kinds, network families): the
//! names the command line, the Python package and the files use, written once per type.

/// A type whose values each have one name.
///
/// ```
/// use neuvis_base::named::Named;
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Mode { Fast, Exact }
/// impl Named for Mode {
///     const NAMED: &'static [(Mode, &'static str)] = &[(Mode::Fast, "fast"), (Mode::Exact, "exact")];
/// }
/// assert_eq!(Mode::from_name("exact"), Some(Mode::Exact));
/// assert_eq!(Mode::Fast.name_of(), "fast");
/// assert_eq!(Mode::names(), ["fast", "exact"]);
/// ```
pub trait Named: Copy + PartialEq + 'static {
    /// Every value with its name, in the order lists show them.
    const NAMED: &'static [(Self, &'static str)];

    /// The value's name (empty for a value the table lacks, which is a bug in the table).
    fn name_of(self) -> &'static str {
        Self::NAMED.iter().find(|(v, _)| *v == self).map_or("", |(_, n)| n)
    }

    /// The value named `s` (exactly as written), if any.
    fn from_name(s: &str) -> Option<Self> {
        Self::NAMED.iter().find(|(_, n)| *n == s).map(|(v, _)| *v)
    }

    /// Every name, in the table's order.
    fn names() -> Vec<&'static str> {
        Self::NAMED.iter().map(|(_, n)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Named;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Three {
        A,
        B,
        C,
    }

    impl Named for Three {
        const NAMED: &'static [(Three, &'static str)] = &[(Three::A, "a"), (Three::B, "bee")];
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for (v, n) in Three::NAMED {
            assert_eq!(Three::from_name(n), Some(*v));
            assert_eq!(v.name_of(), *n);
        }
        assert_eq!(Three::from_name("B"), None, "names are exact");
        assert_eq!(Three::from_name("c"), None);
        assert_eq!(Three::C.name_of(), "", "a value the table lacks has no name");
    }
}
