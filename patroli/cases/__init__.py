"""Case work: what a case holds (``items``), the bundle a third party can verify offline
(``bundle``, ``report``, ``verify``), and the takedown requests sent to the communications
ministry (``takedown``). Built to the practice in ../shared/domain/practice.md; docs/cases.md
describes the bundle and the takedown workflow.
"""
