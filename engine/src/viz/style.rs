//! The look of each role: fill and stroke colours, border and corners,
//! shared by the DOT and SVG renderers.

use super::VizRole;

impl VizRole {
    pub(super) fn style(self) -> RoleStyle {
        let (fill, stroke) = match self {
            VizRole::Input | VizRole::OptionalInput => ("#dbeafe", "#2563eb"),
            VizRole::Config => ("#ede9fe", "#7c3aed"),
            VizRole::Function => ("#ffffff", "#374151"),
            VizRole::Output => ("#fde68a", "#92400e"),
            VizRole::Override => ("#e5e7eb", "#4b5563"),
            VizRole::Hit => ("#bbf7d0", "#15803d"),
            VizRole::Executed => ("#fed7aa", "#c2410c"),
            VizRole::Recomputed => ("#fdba74", "#9a3412"),
            VizRole::Disabled => ("#d1d5db", "#6b7280"),
            VizRole::Failed => ("#fecaca", "#dc2626"),
            VizRole::NotRun => ("#f3f4f6", "#9ca3af"),
        };
        let border = match self {
            VizRole::Input => Border::Dashed,
            VizRole::Disabled | VizRole::OptionalInput => Border::Dotted,
            VizRole::NotRun => Border::Dashed,
            _ => Border::Solid,
        };
        let width = match self {
            VizRole::Output => 2.5,
            VizRole::Failed => 2.0,
            _ => 1.2,
        };
        // External values (inputs, config) are square; computed ones rounded.
        let rounded = !matches!(
            self,
            VizRole::Input | VizRole::OptionalInput | VizRole::Config
        );
        RoleStyle {
            fill,
            stroke,
            width,
            border,
            rounded,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Border {
    Solid,
    Dashed,
    Dotted,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct RoleStyle {
    pub(super) fill: &'static str,
    pub(super) stroke: &'static str,
    pub(super) width: f64,
    pub(super) border: Border,
    pub(super) rounded: bool,
}

impl RoleStyle {
    pub(super) fn dot_style(&self) -> String {
        let mut parts = vec!["filled"];
        if self.rounded {
            parts.push("rounded");
        }
        match self.border {
            Border::Solid => {}
            Border::Dashed => parts.push("dashed"),
            Border::Dotted => parts.push("dotted"),
        }
        parts.join(",")
    }

    pub(super) fn svg_attrs(&self) -> String {
        let dash = match self.border {
            Border::Solid => "",
            Border::Dashed => " stroke-dasharray=\"6,3\"",
            Border::Dotted => " stroke-dasharray=\"2,2\"",
        };
        format!(
            "fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}",
            self.fill, self.stroke, self.width, dash
        )
    }
}
