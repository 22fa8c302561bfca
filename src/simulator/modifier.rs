//! The filter modifiers (`field_Mod=...`) the simulator knows: Workfront's constants package
//! (`workfront-api-constants`, `Operators`), read once from a request's text into
//! [`Modifier`], which the query parser checks and the evaluator matches on.

use std::fmt;
use std::str::FromStr;

/// One filter modifier. Two of the constants' are left out and answered as an unknown modifier
/// is (422 "invalid modifier"): `soundex` (Oracle's SOUNDEX, no use on journal entries) and
/// `allof` (multi-select custom fields, which JRNLE does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Modifier {
    Eq,
    Ne,
    Nee,
    CiEq,
    CiNe,
    In,
    CiIn,
    NotIn,
    CiNotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    CiBetween,
    NotBetween,
    CiNotBetween,
    Contains,
    CiContains,
    NotContains,
    CiNotContains,
    CiContainsAny,
    CiContainsAll,
    CiNotContainsAny,
    CiNotContainsAll,
    Like,
    CiLike,
    StartsWith,
    IsNull,
    NotNull,
    IsBlank,
    NotBlank,
    ExactTime,
    LengthLt,
    LengthEq,
    LengthGt,
    BitwiseOr,
    BitwiseAnd,
    BitwiseNand,
}

/// Every modifier, in the constants' order; [`Modifier::from_str`] reads from this list, so a
/// variant left out of it could never be built (and the compiler says so).
const ALL: [Modifier; 39] = {
    use Modifier::*;
    [
        Eq,
        Ne,
        Nee,
        CiEq,
        CiNe,
        In,
        CiIn,
        NotIn,
        CiNotIn,
        Gt,
        Gte,
        Lt,
        Lte,
        Between,
        CiBetween,
        NotBetween,
        CiNotBetween,
        Contains,
        CiContains,
        NotContains,
        CiNotContains,
        CiContainsAny,
        CiContainsAll,
        CiNotContainsAny,
        CiNotContainsAll,
        Like,
        CiLike,
        StartsWith,
        IsNull,
        NotNull,
        IsBlank,
        NotBlank,
        ExactTime,
        LengthLt,
        LengthEq,
        LengthGt,
        BitwiseOr,
        BitwiseAnd,
        BitwiseNand,
    ]
};

impl Modifier {
    /// The name in a request, as Workfront spells it (lower case; `EQ` is not a modifier).
    pub(super) const fn name(self) -> &'static str {
        use Modifier::*;
        match self {
            Eq => "eq",
            Ne => "ne",
            Nee => "nee",
            CiEq => "cieq",
            CiNe => "cine",
            In => "in",
            CiIn => "ciin",
            NotIn => "notin",
            CiNotIn => "cinotin",
            Gt => "gt",
            Gte => "gte",
            Lt => "lt",
            Lte => "lte",
            Between => "between",
            CiBetween => "cibetween",
            NotBetween => "notbetween",
            CiNotBetween => "cinotbetween",
            Contains => "contains",
            CiContains => "cicontains",
            NotContains => "notcontains",
            CiNotContains => "cinotcontains",
            CiContainsAny => "cicontainsany",
            CiContainsAll => "cicontainsall",
            CiNotContainsAny => "cinotcontainsany",
            CiNotContainsAll => "cinotcontainsall",
            Like => "like",
            CiLike => "cilike",
            StartsWith => "startswith",
            IsNull => "isnull",
            NotNull => "notnull",
            IsBlank => "isblank",
            NotBlank => "notblank",
            ExactTime => "exacttime",
            LengthLt => "length_lt",
            LengthEq => "length_eq",
            LengthGt => "length_gt",
            BitwiseOr => "bitwiseor",
            BitwiseAnd => "bitwiseand",
            BitwiseNand => "bitwisenand",
        }
    }

    /// Whether the value is ignored (Workfront's constants: "the value is ignored").
    pub(super) const fn takes_no_value(self) -> bool {
        matches!(
            self,
            Modifier::IsNull | Modifier::NotNull | Modifier::IsBlank | Modifier::NotBlank
        )
    }

    /// Whether it needs `_Range`.
    pub(super) const fn is_ranged(self) -> bool {
        matches!(
            self,
            Modifier::Between | Modifier::CiBetween | Modifier::NotBetween | Modifier::CiNotBetween
        )
    }

    /// Whether it takes a list of values, which on an id field may come comma-joined.
    pub(super) const fn is_list(self) -> bool {
        matches!(
            self,
            Modifier::In | Modifier::NotIn | Modifier::CiIn | Modifier::CiNotIn
        )
    }

    /// Whether its value is a number of characters, whatever the field.
    pub(super) const fn is_length(self) -> bool {
        matches!(
            self,
            Modifier::LengthLt | Modifier::LengthEq | Modifier::LengthGt
        )
    }
}

/// Not one of the modifiers the simulator knows (the caller says which, and for what field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UnknownModifier;

impl FromStr for Modifier {
    type Err = UnknownModifier;

    /// Exactly as spelled: Workfront refuses `EQ`.
    fn from_str(s: &str) -> Result<Modifier, UnknownModifier> {
        ALL.into_iter()
            .find(|m| m.name() == s)
            .ok_or(UnknownModifier)
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_modifier_reads_back_from_its_own_name_only() {
        for (i, m) in ALL.iter().enumerate() {
            assert_eq!(m.name().parse(), Ok(*m), "{m}");
            assert_eq!(m.to_string(), m.name());
            assert!(ALL[..i].iter().all(|o| o.name() != m.name()), "{m} twice");
            let upper = m.name().to_uppercase();
            assert_eq!(upper.parse::<Modifier>(), Err(UnknownModifier), "{upper}");
        }
    }

    #[test]
    fn the_constants_left_out_and_near_misses_are_unknown() {
        for s in [
            "soundex", "allof", "", " eq", "eq ", "length", "lengthlt", "between,",
        ] {
            assert_eq!(s.parse::<Modifier>(), Err(UnknownModifier), "{s:?}");
        }
    }
}
