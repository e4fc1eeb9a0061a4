"""Build XMP packets in tests."""

from __future__ import annotations

NS = ('xmlns:x="adobe:ns:meta/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
      'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
      'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
      'xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" '
      'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"')


def packet(attrs: str = "", body: str = "") -> bytes:
    return (f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta {NS}><rdf:RDF>'
            f'<rdf:Description rdf:about="" {attrs}>{body}</rdf:Description></rdf:RDF>'
            f'</x:xmpmeta><?xpacket end="w"?>').encode()
