//! Closed sets of values with one spelling each (methods, store kinds, network families): the
//! names the command line, the Python package and the files use, written once per type.

/// A type whose values each have one name. The names are written once, in `name_of`'s match
/// (which the compiler checks covers every value, so nothing is ever written without a name);
/// `ALL` lists the values a reader accepts, in the order lists show them.
///
/// ```
/// use neuvis_base::named::Named;
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Mode { Fast, Exact }
/// impl Named for Mode {
///     const ALL: &'static [Mode] = &[Mode::Fast, Mode::Exact];
///     fn name_of(self) -> &'static str {
///         match self {
///             Mode::Fast => "fast",
///             Mode::Exact => "exact",
///         }
///     }
/// }
/// assert_eq!(Mode::from_name("exact"), Some(Mode::Exact));
/// assert_eq!(Mode::Fast.name_of(), "fast");
/// assert_eq!(Mode::names(), ["fast", "exact"]);
/// ```
pub trait Named: Copy + PartialEq + 'static {
    /// Every value a reader accepts, in the order lists show them.
    const ALL: &'static [Self];

    /// The value's name.
    fn name_of(self) -> &'static str;

    /// The value named `s` (exactly as written), if any.
    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name_of() == s)
    }

    /// Every name, in `ALL`'s order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name_of()).collect()
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
        // C has a name but is not read
        const ALL: &'static [Three] = &[Three::A, Three::B];
        fn name_of(self) -> &'static str {
            match self {
                Three::A => "a",
                Three::B => "bee",
                Three::C => "c",
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        assert_eq!(Three::names(), ["a", "bee"]);
        for v in Three::ALL {
            assert_eq!(Three::from_name(v.name_of()), Some(*v));
        }
        assert_eq!(Three::from_name("B"), None, "names are exact");
        assert_eq!(Three::from_name("c"), None, "a value outside ALL is not read");
        assert_eq!(Three::C.name_of(), "c");
    }
}
