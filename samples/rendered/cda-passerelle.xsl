<?xml version="1.0" encoding="UTF-8"?>
<!--
  Passerelle's presentation stylesheet for CR-BIO documents (DOC.03 "auto-présentable").
  XSLT 1.0 so that browsers apply it directly to the CDA (<?xml-stylesheet?>), as the ANS
  examples do with their own stylesheet. It shows the header (patient, lab, prescriber,
  validation) and every section's narrative block: the narrative is where the N3 builder
  writes every structured result, so what the reader sees is what the entries say.
  Written for Passerelle; renders the CDA narrative block elements (table, list, paragraph,
  content, br, caption, footnote, renderMultiMedia, linkHtml, sub, sup).
-->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:cda="urn:hl7-org:v3"
  exclude-result-prefixes="cda">
  <xsl:output method="html" encoding="UTF-8" indent="no"/>

  <xsl:template match="/">
    <html lang="fr">
      <head>
        <meta charset="UTF-8"/>
        <title><xsl:value-of select="cda:ClinicalDocument/cda:title"/></title>
        <style>
          body { font-family: sans-serif; font-size: 13px; margin: 1.5em; color: #111; }
          h1 { font-size: 18px; margin: 0 0 .5em 0; }
          h2 { font-size: 15px; border-bottom: 1px solid #999; margin-top: 1.2em; }
          h3 { font-size: 14px; margin-top: .8em; }
          table { border-collapse: collapse; margin: .3em 0; }
          td, th { padding: 2px 8px; vertical-align: top; text-align: left; }
          th { background: #eee; }
          .header { display: flex; flex-wrap: wrap; gap: 2em; border: 1px solid #999; padding: .6em; }
          .header div { min-width: 16em; }
          .label { color: #555; }
          .bold { font-weight: bold; } .italics { font-style: italic; } .underline { text-decoration: underline; }
        </style>
      </head>
      <body>
        <xsl:apply-templates select="cda:ClinicalDocument"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="cda:ClinicalDocument">
    <h1><xsl:value-of select="cda:title"/></h1>
    <div class="header">
      <div>
        <div class="label">Patient</div>
        <xsl:for-each select="cda:recordTarget/cda:patientRole/cda:patient">
          <div class="bold">
            <xsl:value-of select="cda:name/cda:family[@qualifier='BR']"/>
            <xsl:text> </xsl:text>
            <xsl:value-of select="cda:name/cda:given[@qualifier='BR']"/>
          </div>
          <xsl:if test="cda:name/cda:family[@qualifier='CL'] != cda:name/cda:family[@qualifier='BR']">
            <div>Nom utilisé : <xsl:value-of select="cda:name/cda:family[@qualifier='CL']"/></div>
          </xsl:if>
          <div>Prénoms de naissance : <xsl:value-of select="cda:name/cda:given[not(@qualifier)]"/></div>
          <div>Né(e) le <xsl:call-template name="date"><xsl:with-param name="ts" select="cda:birthTime/@value"/></xsl:call-template>
            — sexe <xsl:value-of select="cda:administrativeGenderCode/@code"/></div>
        </xsl:for-each>
        <xsl:for-each select="cda:recordTarget/cda:patientRole/cda:id">
          <div>
            <xsl:choose>
              <xsl:when test="starts-with(@root, '1.2.250.1.213.1.4.')">INS : </xsl:when>
              <xsl:otherwise>Identifiant : </xsl:otherwise>
            </xsl:choose>
            <xsl:value-of select="@extension"/>
          </div>
        </xsl:for-each>
      </div>
      <div>
        <div class="label">Laboratoire</div>
        <div class="bold"><xsl:value-of select="cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization/cda:name"/></div>
        <xsl:for-each select="cda:participant[@typeCode='REF']/cda:associatedEntity">
          <div>Prescripteur : <xsl:apply-templates select="cda:associatedPerson/cda:name"/></div>
        </xsl:for-each>
        <xsl:for-each select="cda:legalAuthenticator">
          <div>Validé par <xsl:apply-templates select="cda:assignedEntity/cda:assignedPerson/cda:name"/>
            le <xsl:call-template name="date"><xsl:with-param name="ts" select="cda:time/@value"/></xsl:call-template></div>
        </xsl:for-each>
        <div>Document du <xsl:call-template name="date"><xsl:with-param name="ts" select="cda:effectiveTime/@value"/></xsl:call-template>,
          version <xsl:value-of select="cda:versionNumber/@value"/></div>
      </div>
    </div>
    <xsl:apply-templates select="cda:component/cda:structuredBody/cda:component/cda:section"/>
    <xsl:if test="cda:component/cda:nonXMLBody">
      <p>Document non structuré (<xsl:value-of select="cda:component/cda:nonXMLBody/cda:text/@mediaType"/>).</p>
    </xsl:if>
  </xsl:template>

  <xsl:template match="cda:section">
    <xsl:choose>
      <xsl:when test="count(ancestor::cda:section) = 0"><h2><xsl:value-of select="cda:title"/></h2></xsl:when>
      <xsl:otherwise><h3><xsl:value-of select="cda:title"/></h3></xsl:otherwise>
    </xsl:choose>
    <xsl:apply-templates select="cda:text"/>
    <xsl:apply-templates select="cda:component/cda:section"/>
  </xsl:template>

  <xsl:template match="cda:text"><div><xsl:apply-templates/></div></xsl:template>
  <xsl:template match="cda:table"><table><xsl:apply-templates/></table></xsl:template>
  <xsl:template match="cda:thead"><thead><xsl:apply-templates/></thead></xsl:template>
  <xsl:template match="cda:tbody"><tbody><xsl:apply-templates/></tbody></xsl:template>
  <xsl:template match="cda:tfoot"><tfoot><xsl:apply-templates/></tfoot></xsl:template>
  <xsl:template match="cda:tr"><tr><xsl:apply-templates/></tr></xsl:template>
  <xsl:template match="cda:th"><th><xsl:call-template name="style"/><xsl:apply-templates/></th></xsl:template>
  <xsl:template match="cda:td"><td><xsl:call-template name="style"/><xsl:apply-templates/></td></xsl:template>
  <xsl:template match="cda:caption"><caption><xsl:apply-templates/></caption></xsl:template>
  <xsl:template match="cda:paragraph"><p><xsl:call-template name="style"/><xsl:apply-templates/></p></xsl:template>
  <xsl:template match="cda:list[@listType='ordered']"><ol><xsl:apply-templates/></ol></xsl:template>
  <xsl:template match="cda:list"><ul><xsl:apply-templates/></ul></xsl:template>
  <xsl:template match="cda:item"><li><xsl:apply-templates/></li></xsl:template>
  <xsl:template match="cda:content"><span><xsl:call-template name="style"/><xsl:apply-templates/></span></xsl:template>
  <xsl:template match="cda:br"><br/></xsl:template>
  <xsl:template match="cda:sub"><sub><xsl:apply-templates/></sub></xsl:template>
  <xsl:template match="cda:sup"><sup><xsl:apply-templates/></sup></xsl:template>
  <xsl:template match="cda:footnote"><small><xsl:apply-templates/></small></xsl:template>
  <xsl:template match="cda:linkHtml"><a href="{@href}"><xsl:apply-templates/></a></xsl:template>
  <xsl:template match="cda:renderMultiMedia">
    <xsl:variable name="ref" select="@referencedObject"/>
    <xsl:variable name="media" select="//cda:observationMedia[@ID=$ref]"/>
    <xsl:choose>
      <xsl:when test="starts-with($media/cda:value/@mediaType, 'image/')">
        <img alt="image" src="data:{$media/cda:value/@mediaType};base64,{normalize-space($media/cda:value)}"/>
      </xsl:when>
      <xsl:otherwise><em>[Copie PDF du compte rendu jointe au document]</em></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="cda:name">
    <xsl:value-of select="cda:prefix"/><xsl:text> </xsl:text>
    <xsl:value-of select="cda:given[1]"/><xsl:text> </xsl:text>
    <xsl:value-of select="cda:family[1]"/>
  </xsl:template>

  <xsl:template name="style">
    <xsl:if test="@styleCode">
      <xsl:attribute name="class">
        <xsl:if test="contains(@styleCode, 'Bold')">bold </xsl:if>
        <xsl:if test="contains(@styleCode, 'Italics')">italics </xsl:if>
        <xsl:if test="contains(@styleCode, 'Underline')">underline</xsl:if>
      </xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- YYYYMMDD[HHMM…] → DD/MM/YYYY [HH:MM] -->
  <xsl:template name="date">
    <xsl:param name="ts"/>
    <xsl:if test="string-length($ts) &gt;= 8">
      <xsl:value-of select="concat(substring($ts, 7, 2), '/', substring($ts, 5, 2), '/', substring($ts, 1, 4))"/>
      <xsl:if test="string-length($ts) &gt;= 12">
        <xsl:value-of select="concat(' ', substring($ts, 9, 2), ':', substring($ts, 11, 2))"/>
      </xsl:if>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
