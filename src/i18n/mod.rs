//! Texts for people, in Vietnamese: the reasons the airtime log gives in the report and the
//! console, and what each command error means. The technician's logs stay in English;
//! everything a commune reads is here, in one place.

pub mod vi;
